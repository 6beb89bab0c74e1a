package lambdaapi

import (
	"net/http"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/function"
)

func (a *API) createAlias(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in createAliasInput
	if err := decode(body, &in); err != nil {
		return err
	}
	number, err := aliasVersion(in.FunctionVersion)
	if err != nil {
		return err
	}
	weights, err := routing(in.RoutingConfig)
	if err != nil {
		return err
	}
	alias, err := a.registry.CreateAlias(r.Context(), r.PathValue("name"), function.Alias{
		Name: in.Name, Version: number, Description: in.Description, AdditionalWeights: weights,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, aliasConfiguration(a.registry.ARNs(), alias))
	return nil
}

func (a *API) getAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	alias, err := a.registry.Alias(r.Context(), r.PathValue("name"), r.PathValue("alias"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, aliasConfiguration(a.registry.ARNs(), alias))
	return nil
}

func (a *API) updateAlias(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in updateAliasInput
	if err := decode(body, &in); err != nil {
		return err
	}
	number := -1
	if in.FunctionVersion != nil {
		n, err := aliasVersion(*in.FunctionVersion)
		if err != nil {
			return err
		}
		number = n
	}
	weights, err := routing(in.RoutingConfig)
	if err != nil {
		return err
	}
	alias, err := a.registry.UpdateAlias(r.Context(), r.PathValue("name"), r.PathValue("alias"), func(al *function.Alias) {
		if number >= 0 {
			al.Version = number
		}
		set(&al.Description, in.Description)
		if in.RoutingConfig != nil {
			al.AdditionalWeights = weights
		}
	}, in.RevisionId)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, aliasConfiguration(a.registry.ARNs(), alias))
	return nil
}

func (a *API) deleteAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if err := a.registry.DeleteAlias(r.Context(), r.PathValue("name"), r.PathValue("alias")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAliases(w http.ResponseWriter, r *http.Request, _ []byte) error {
	max, err := maxItems(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, next, err := a.registry.Aliases(r.Context(), r.PathValue("name"), q.Get("FunctionVersion"), q.Get("Marker"), max)
	if err != nil {
		return err
	}
	out := ListAliasesOutput{Aliases: []AliasConfiguration{}, NextMarker: next}
	for _, al := range page {
		out.Aliases = append(out.Aliases, aliasConfiguration(a.registry.ARNs(), al))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func aliasVersion(s string) (int, error) {
	n, ok := function.ParseVersion(s)
	if !ok {
		return 0, function.ConstraintError(function.Violation(s, "functionVersion", `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`))
	}
	return n, nil
}

func routing(rc *AliasRoutingConfiguration) (map[int]float64, error) {
	if rc == nil || len(rc.AdditionalVersionWeights) == 0 {
		return nil, nil
	}
	out := make(map[int]float64, len(rc.AdditionalVersionWeights))
	for k, w := range rc.AdditionalVersionWeights {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 {
			return nil, function.ConstraintError(function.Violation(k, "routingConfig.additionalVersionWeights",
				"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]"))
		}
		out[n] = w
	}
	return out, nil
}
