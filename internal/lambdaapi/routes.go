package lambdaapi

import (
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// routes is every route of the Lambda API, on one screen.
func (a *API) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", a.healthz)

	const fn = "/2015-03-31/functions/{name}"
	route := func(pattern, op string, limit int64, h operation) { m.Handle(pattern, a.op(op, limit, h)) }
	route("POST /2015-03-31/functions", "CreateFunction", maxCodeRequest, a.createFunction)
	route("GET /2015-03-31/functions", "ListFunctions", maxControlRequest, a.listFunctions)
	route("GET /2015-03-31/functions/{$}", "ListFunctions", maxControlRequest, a.listFunctions)
	route("GET "+fn, "GetFunction", maxControlRequest, a.getFunction)
	route("DELETE "+fn, "DeleteFunction", maxControlRequest, a.deleteFunction)
	route("GET "+fn+"/configuration", "GetFunctionConfiguration", maxControlRequest, a.getFunctionConfiguration)
	route("PUT "+fn+"/configuration", "UpdateFunctionConfiguration", maxControlRequest, a.updateFunctionConfiguration)
	route("PUT "+fn+"/code", "UpdateFunctionCode", maxCodeRequest, a.updateFunctionCode)
	route("POST "+fn+"/versions", "PublishVersion", maxControlRequest, a.publishVersion)
	route("GET "+fn+"/versions", "ListVersionsByFunction", maxControlRequest, a.listVersions)
	route("POST "+fn+"/invocations", "InvokeFunction", maxInvokeRequest, a.invoke)
	route("POST "+fn+"/aliases", "CreateAlias", maxControlRequest, a.createAlias)
	route("GET "+fn+"/aliases", "ListAliases", maxControlRequest, a.listAliases)
	route("GET "+fn+"/aliases/{alias}", "GetAlias", maxControlRequest, a.getAlias)
	route("PUT "+fn+"/aliases/{alias}", "UpdateAlias", maxControlRequest, a.updateAlias)
	route("DELETE "+fn+"/aliases/{alias}", "DeleteAlias", maxControlRequest, a.deleteAlias)

	route("GET "+LogsPath, "QueryLogs", maxControlRequest, a.queryLogs)
	route("GET "+UsagePath, "QueryUsage", maxControlRequest, a.queryUsage)
	route("GET "+AuditPath, "QueryAudit", maxControlRequest, a.queryAudit)

	const fd = FrontdoorPath
	route("POST "+fd+"/tenants", "CreateTenant", maxControlRequest, a.createTenant)
	route("GET "+fd+"/tenants", "ListTenants", maxControlRequest, a.listTenants)
	route("GET "+fd+"/tenants/{tenant}", "GetTenant", maxControlRequest, a.getTenant)
	route("PATCH "+fd+"/tenants/{tenant}", "UpdateTenant", maxControlRequest, a.updateTenant)
	route("DELETE "+fd+"/tenants/{tenant}", "DeleteTenant", maxControlRequest, a.deleteTenant)
	route("POST "+fd+"/tenants/{tenant}/suspend", "SuspendTenant", maxControlRequest, a.setTenantStatus(tenant.Suspended))
	route("POST "+fd+"/tenants/{tenant}/resume", "ResumeTenant", maxControlRequest, a.setTenantStatus(tenant.Active))
	route("POST "+fd+"/tenants/{tenant}/drain", "DrainTenant", maxControlRequest, a.drainTenant)
	route("GET "+fd+"/tenants/{tenant}/quota", "GetTenantQuota", maxControlRequest, a.tenantQuota)
	route("POST "+fd+"/plans", "CreateUsagePlan", maxControlRequest, a.putPlan(true))
	route("GET "+fd+"/plans", "ListUsagePlans", maxControlRequest, a.listPlans)
	route("GET "+fd+"/plans/{name}", "GetUsagePlan", maxControlRequest, a.getPlan)
	route("PUT "+fd+"/plans/{name}", "UpdateUsagePlan", maxControlRequest, a.putPlan(false))
	route("DELETE "+fd+"/plans/{name}", "DeleteUsagePlan", maxControlRequest, a.deletePlan)
	route("POST "+fd+"/keys", "CreateApiKey", maxControlRequest, a.createKey)
	route("GET "+fd+"/keys", "ListApiKeys", maxControlRequest, a.listKeys)
	route("DELETE "+fd+"/keys/{id}", "RevokeApiKey", maxControlRequest, a.revokeKey)
	route("POST "+fd+"/authorizers", "CreateAuthorizer", maxControlRequest, a.putAuthorizer(true))
	route("GET "+fd+"/authorizers", "ListAuthorizers", maxControlRequest, a.listAuthorizers)
	route("PUT "+fd+"/authorizers/{name}", "UpdateAuthorizer", maxControlRequest, a.putAuthorizer(false))
	route("DELETE "+fd+"/authorizers/{name}", "DeleteAuthorizer", maxControlRequest, a.deleteAuthorizer)
	route("POST "+fd+"/routes", "CreateRoute", maxControlRequest, a.createRoute)
	route("GET "+fd+"/routes", "ListRoutes", maxControlRequest, a.listRoutes)
	route("DELETE "+fd+"/routes/{id}", "DeleteRoute", maxControlRequest, a.deleteRoute)
	route("POST "+fd+"/roles", "CreateRole", maxControlRequest, a.putRole(true))
	route("GET "+fd+"/roles", "ListRoles", maxControlRequest, a.listRoles)
	route("GET "+fd+"/roles/{name}", "GetRole", maxControlRequest, a.getRole)
	route("PUT "+fd+"/roles/{name}", "UpdateRole", maxControlRequest, a.putRole(false))
	route("DELETE "+fd+"/roles/{name}", "DeleteRole", maxControlRequest, a.deleteRole)

	// Anything else, once authenticated, is an operation Bulkhead does not have.
	route("/", "Unknown", maxControlRequest, func(http.ResponseWriter, *http.Request, []byte) error {
		return errUnknownOperation
	})
	return m
}

// healthz answers 200 once the server serves requests, with the details
// New was given (the isolation in force). It is not authenticated: it says
// nothing about functions or tenants.
func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	body := map[string]string{"status": "ok"}
	for k, v := range a.health {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}
