package lambdaapi

import (
	"fmt"
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
)

func (a *API) createFunction(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in createFunctionInput
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.Code == nil {
		return function.ConstraintError(function.Violation(nil, "code", "Member must not be null"))
	}
	if err := zipOnly(in.PackageType, in.Code.S3Bucket+in.Code.S3Key, in.Code.ImageUri, in.Layers); err != nil {
		return err
	}
	req := function.CreateRequest{
		Name: in.FunctionName,
		Config: function.Config{
			Runtime:     in.Runtime,
			Handler:     in.Handler,
			Role:        in.Role,
			Description: in.Description,
			MemorySize:  deref(in.MemorySize),
			Timeout:     deref(in.Timeout),
		},
		Tags:    in.Tags,
		Zip:     in.Code.ZipFile,
		Publish: in.Publish,
	}
	if in.Environment != nil {
		req.Config.Environment = in.Environment.Variables
	}
	if in.EphemeralStorage != nil {
		req.Config.EphemeralStorage = in.EphemeralStorage.Size
	}
	// Zero means "default" to the registry; a member given as zero is out of
	// range, as Lambda says.
	if err := explicitZeros(in); err != nil {
		return err
	}
	arch, err := architecture(in.Architectures)
	if err != nil {
		return err
	}
	req.Config.Architecture = arch
	if in.LoggingConfig != nil {
		req.Config.Logging = logging(*in.LoggingConfig)
	}
	if in.TenancyConfig != nil {
		if in.TenancyConfig.TenantIsolationMode != function.TenantIsolationPerTenant {
			return function.ConstraintError(function.Violation(in.TenancyConfig.TenantIsolationMode,
				"tenancyConfig.tenantIsolationMode", "Member must satisfy enum value set: [PER_TENANT]"))
		}
		req.PerTenant = true
	}
	res, err := a.registry.Create(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, configuration(a.registry.ARNs(), res))
	return nil
}

func explicitZeros(in createFunctionInput) error {
	var violations []string
	zero := func(given bool, field string, min int) {
		if given {
			violations = append(violations, function.Violation(0, field, fmt.Sprintf("Member must have value greater than or equal to %d", min)))
		}
	}
	zero(in.MemorySize != nil && *in.MemorySize == 0, "memorySize", function.MinMemorySize)
	zero(in.Timeout != nil && *in.Timeout == 0, "timeout", function.MinTimeout)
	zero(in.EphemeralStorage != nil && in.EphemeralStorage.Size == 0, "ephemeralStorage.size", function.MinEphemeralStorage)
	return function.ConstraintError(violations...)
}

// zipOnly refuses the code sources Bulkhead does not support yet.
func zipOnly(packageType, s3, image string, layers []string) error {
	switch {
	case packageType == "Image" || image != "":
		return errdefs.New(errdefs.ErrInvalidArgument, "Bulkhead runs zip deployment packages only; container images (PackageType Image, ImageUri) are not supported.")
	case packageType != "" && packageType != "Zip":
		return function.ConstraintError(function.Violation(packageType, "packageType", "Member must satisfy enum value set: [Zip, Image]"))
	case s3 != "":
		return errdefs.New(errdefs.ErrInvalidArgument, "Bulkhead takes code as ZipFile only; S3Bucket and S3Key are not supported.")
	case len(layers) > 0:
		return errdefs.New(errdefs.ErrInvalidArgument, "Layers are not supported by Bulkhead yet.")
	}
	return nil
}

func architecture(archs []string) (string, error) {
	switch len(archs) {
	case 0:
		return "", nil
	case 1:
		return archs[0], nil
	default:
		return "", function.ConstraintError(function.Violation(archs, "architectures", "Member must have length less than or equal to 1"))
	}
}

func logging(in LoggingConfig) function.Logging {
	return function.Logging{
		Format:              in.LogFormat,
		ApplicationLogLevel: in.ApplicationLogLevel,
		SystemLogLevel:      in.SystemLogLevel,
		LogGroup:            in.LogGroup,
	}
}

func (a *API) getFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	res, err := a.registry.Resolve(r.Context(), r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, GetFunctionOutput{
		Configuration: configuration(a.registry.ARNs(), res),
		Code:          FunctionCodeLocation{RepositoryType: "Bulkhead"},
		Tags:          res.Function.Tags,
	})
	return nil
}

func (a *API) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, _ []byte) error {
	res, err := a.registry.Resolve(r.Context(), r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, configuration(a.registry.ARNs(), res))
	return nil
}

func (a *API) listFunctions(w http.ResponseWriter, r *http.Request, _ []byte) error {
	q := r.URL.Query()
	max, err := maxItems(r)
	if err != nil {
		return err
	}
	all := false
	switch v := q.Get("FunctionVersion"); v {
	case "":
	case "ALL":
		all = true
	default:
		return function.ConstraintError(function.Violation(v, "functionVersion", "Member must satisfy enum value set: [ALL]"))
	}
	page, next, err := a.registry.List(r.Context(), q.Get("Marker"), max, all)
	if err != nil {
		return err
	}
	out := ListFunctionsOutput{Functions: []FunctionConfiguration{}, NextMarker: next}
	for _, res := range page {
		out.Functions = append(out.Functions, configuration(a.registry.ARNs(), res))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if err := a.registry.Delete(r.Context(), r.PathValue("name"), r.URL.Query().Get("Qualifier")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) updateFunctionCode(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in updateFunctionCodeInput
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := zipOnly("", in.S3Bucket+in.S3Key, in.ImageUri, nil); err != nil {
		return err
	}
	if in.DryRun {
		return errdefs.New(errdefs.ErrInvalidArgument, "DryRun is not supported by Bulkhead's UpdateFunctionCode.")
	}
	res, err := a.registry.UpdateCode(r.Context(), r.PathValue("name"), in.ZipFile, in.Publish, in.RevisionId)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, configuration(a.registry.ARNs(), res))
	return nil
}

func (a *API) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in updateFunctionConfigurationInput
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.TenancyConfig != nil {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"TenancyConfig cannot be changed: a function's tenant isolation mode is fixed when it is created. Create a new function to change it.")
	}
	if len(in.Layers) > 0 {
		return errdefs.New(errdefs.ErrInvalidArgument, "Layers are not supported by Bulkhead yet.")
	}
	res, err := a.registry.UpdateConfig(r.Context(), r.PathValue("name"), func(c *function.Config) {
		set(&c.Role, in.Role)
		set(&c.Handler, in.Handler)
		set(&c.Description, in.Description)
		set(&c.Timeout, in.Timeout)
		set(&c.MemorySize, in.MemorySize)
		set(&c.Runtime, in.Runtime)
		if in.Environment != nil {
			c.Environment = in.Environment.Variables
		}
		if in.EphemeralStorage != nil {
			c.EphemeralStorage = in.EphemeralStorage.Size
		}
		if in.LoggingConfig != nil {
			c.Logging = logging(*in.LoggingConfig)
		}
	}, in.RevisionId)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, configuration(a.registry.ARNs(), res))
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// set assigns *from to *to when the caller gave the member.
func set[T any](to *T, from *T) {
	if from != nil {
		*to = *from
	}
}

func (a *API) publishVersion(w http.ResponseWriter, r *http.Request, body []byte) error {
	var in publishVersionInput
	if err := decode(body, &in); err != nil {
		return err
	}
	res, err := a.registry.Publish(r.Context(), r.PathValue("name"), in.CodeSha256, in.Description, in.RevisionId)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, configuration(a.registry.ARNs(), res))
	return nil
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request, _ []byte) error {
	max, err := maxItems(r)
	if err != nil {
		return err
	}
	page, next, err := a.registry.Versions(r.Context(), r.PathValue("name"), r.URL.Query().Get("Marker"), max)
	if err != nil {
		return err
	}
	out := ListVersionsByFunctionOutput{Versions: []FunctionConfiguration{}, NextMarker: next}
	for _, res := range page {
		out.Versions = append(out.Versions, configuration(a.registry.ARNs(), res))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
