// Package quickstart holds the test that keeps the README's quick start
// honest: TestQuickStart extracts the program between the
// <!-- quickstart:begin --> and <!-- quickstart:end --> markers of the
// repository's README.md, builds it with the go command in a temporary
// module whose go.mod replaces github.com/shmpool/shmpool with this
// checkout, runs it, and compares its output with the output the README
// states.
//
// The package has no code of its own. The test needs the go command (it
// skips, saying so, when there is none on PATH) but no network: it runs with
// GOPROXY=off and the repository's go.sum, so every module must already be
// in the module cache, as it is after any build of this repository.
//
// To change the quick start, edit README.md; `go test ./examples/quickstart`
// then checks the program still compiles, still runs, and still prints what
// the README says, and that it still fits in under 30 lines.
package quickstart
