package lambdaapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
)

// Role is a role on the wire.
type Role struct {
	Name               string          `json:"name"`
	ID                 string          `json:"id"`
	ARN                string          `json:"arn"`
	Description        string          `json:"description,omitempty"`
	Policy             json.RawMessage `json:"policy"`
	MaxSessionDuration int             `json:"maxSessionDuration"`
	Created            time.Time       `json:"created"`
	Updated            time.Time       `json:"updated"`
}

// RoleInput creates or replaces a role. Policy is the policy document,
// as a JSON object or as a string holding one (as IAM's PolicyDocument).
type RoleInput struct {
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Policy             json.RawMessage `json:"policy"`
	MaxSessionDuration int             `json:"maxSessionDuration"`
}

func (a *API) wireRole(r iam.Role) Role {
	return Role{Name: r.Name, ID: r.ID, ARN: r.ARN(a.roles.Account()), Description: r.Description, Policy: r.Policy,
		MaxSessionDuration: r.MaxSessionDuration, Created: r.Created, Updated: r.Updated}
}

func (a *API) roleRegistry() (*iam.Registry, error) {
	if a.roles == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "Roles are not configured on this server.")
	}
	return a.roles, nil
}

// policyDocument accepts the document as an object or as a JSON string
// holding one.
func policyDocument(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidContent, "policy: %v", err)
		}
		return json.RawMessage(s), nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return raw, nil
}

func (a *API) putRole(create bool) operation {
	return func(w http.ResponseWriter, r *http.Request, body []byte) error {
		roles, err := a.roleRegistry()
		if err != nil {
			return err
		}
		var in RoleInput
		if err := decode(body, &in); err != nil {
			return err
		}
		if !create {
			if in.Name != "" && in.Name != r.PathValue("name") {
				return errdefs.New(errdefs.ErrInvalidArgument, "A role's name cannot change.")
			}
			in.Name = r.PathValue("name")
		}
		doc, err := policyDocument(in.Policy)
		if err != nil {
			return err
		}
		role := iam.Role{Name: in.Name, Description: in.Description, Policy: doc, MaxSessionDuration: in.MaxSessionDuration}
		status := http.StatusOK
		if create {
			role, err = roles.Create(r.Context(), role)
			status = http.StatusCreated
		} else {
			role, err = roles.Update(r.Context(), role)
		}
		if err != nil {
			return err
		}
		writeJSON(w, status, a.wireRole(role))
		return nil
	}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, _ []byte) error {
	roles, err := a.roleRegistry()
	if err != nil {
		return err
	}
	out := []Role{}
	for _, role := range roles.List() {
		out = append(out, a.wireRole(role))
	}
	writeJSON(w, http.StatusOK, map[string][]Role{"roles": out})
	return nil
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, _ []byte) error {
	roles, err := a.roleRegistry()
	if err != nil {
		return err
	}
	role, err := roles.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.wireRole(role))
	return nil
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, _ []byte) error {
	roles, err := a.roleRegistry()
	if err != nil {
		return err
	}
	if err := roles.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
