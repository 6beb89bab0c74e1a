// Package invoke is the invocation service: it resolves the function version,
// applies the tenancy rules, takes an environment of (function, version,
// tenant) from the pool and runs the invocation in it, turning how it ended —
// success, function error, timeout, exit, failed init — into Lambda's answer.
// It knows no wire: lambdaapi (and later the gateway) translate.
package invoke
