//go:build !race

package chaos_test

// raceBuild reports a -race build (see backpressure_race_test.go).
const raceBuild = false
