// Package iam is Bulkhead's roles: named IAM identity policies that a
// function's environments and STS sessions act under. A function whose Role
// ARN names a role here gets credentials for it, scoped to the environment's
// tenant by the session tag TenantID; the data API authorises every request
// with the role's policy (package policy evaluates it).
package iam
