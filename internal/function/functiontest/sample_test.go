package functiontest

import (
	"reflect"
	"testing"
)

// TestSampleSetsEveryField keeps the round trips of StoreConformance honest:
// a field added to function.Function, Version, Config, Logging, Code or Alias
// fails here until the samples set it, and then fails every store that does
// not keep it.
func TestSampleSetsEveryField(t *testing.T) {
	f, v := Sample("f")
	for name, value := range map[string]any{
		"Sample's function": f,
		"Sample's version":  v,
		"sampleAlias":       sampleAlias("f", "live", 1, 2),
	} {
		for _, field := range zeroFields(reflect.ValueOf(value), "") {
			if name == "Sample's version" && field == "Number" {
				continue // $LATEST is number 0; published versions cover Number
			}
			t.Errorf("%s leaves %s at its zero value", name, field)
		}
	}
}

// zeroFields returns the paths of the zero-valued fields of the struct v,
// descending into nested structs.
func zeroFields(v reflect.Value, prefix string) []string {
	var zero []string
	for i := range v.NumField() {
		field, path := v.Field(i), prefix+v.Type().Field(i).Name
		switch {
		case field.Kind() == reflect.Struct && field.Type().PkgPath() != "time":
			zero = append(zero, zeroFields(field, path+".")...)
		case field.IsZero():
			zero = append(zero, path)
		}
	}
	return zero
}
