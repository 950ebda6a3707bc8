package quickstart_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	beginMarker = "<!-- quickstart:begin -->"
	endMarker   = "<!-- quickstart:end -->"
)

// TestQuickStart builds and runs the README's quick start in a module of its
// own and checks that it prints what the README says it prints.
func TestQuickStart(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the README's quick start")
	}
	root := moduleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	program, want := quickStart(t, string(readme))
	assert.Less(t, strings.Count(program, "\n"), 30, "the quick start should stay under 30 lines")

	dir := t.TempDir()
	goMod := fmt.Sprintf("module quickstart\n\ngo 1.24\n\nrequire github.com/shmpool/shmpool v0.0.0\n\nreplace github.com/shmpool/shmpool => %s\n", root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "quickstart")
	build := exec.CommandContext(ctx, goCmd, "build", "-o", bin, ".")
	build.Dir = dir
	// -mod=mod lets the go command add the requirements the replaced module
	// brings; GOPROXY=off keeps it off the network (they are in the module
	// cache); GOWORK=off and GOTOOLCHAIN=local keep the build to this module
	// and this Go.
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build of the README's quick start failed:\n%s", out)

	run := exec.CommandContext(ctx, bin)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	require.NoError(t, run.Run(), "the quick start failed; stderr:\n%s", stderr.String())
	assert.Equal(t, want, stdout.String(), "the quick start's output is not the README's (stderr: %q)", stderr.String())
}

// quickStart returns the Go program and the expected output between the
// quick start markers of a README: its ```go block and its ```text block.
func quickStart(t testing.TB, readme string) (program, output string) {
	t.Helper()
	_, rest, ok := strings.Cut(readme, beginMarker)
	require.True(t, ok, "README.md has no %s marker", beginMarker)
	section, _, ok := strings.Cut(rest, endMarker)
	require.True(t, ok, "README.md has no %s marker after %s", endMarker, beginMarker)
	blocks := fencedBlocks(section)
	require.Len(t, blocks["go"], 1, "the quick start section should have exactly one ```go block")
	require.Len(t, blocks["text"], 1, "the quick start section should have exactly one ```text block (the output)")
	return blocks["go"][0], blocks["text"][0]
}

// fencedBlocks returns the contents of the fenced code blocks of a piece of
// Markdown by info string ("go", "text", ...), each with its final newline.
func fencedBlocks(md string) map[string][]string {
	blocks := map[string][]string{}
	var lang string
	var body strings.Builder
	in := false
	for line := range strings.Lines(md) {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case !in && strings.HasPrefix(trimmed, "```"):
			in, lang = true, strings.TrimPrefix(trimmed, "```")
			body.Reset()
		case in && trimmed == "```":
			in = false
			blocks[lang] = append(blocks[lang], body.String())
		case in:
			body.WriteString(trimmed + "\n")
		}
	}
	return blocks
}

// moduleRoot returns the directory of this repository's go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

func TestFencedBlocks(t *testing.T) {
	md := "text\n```go\npackage main\n\nfunc main() {}\n```\nmore\n```text\nOUT\n```\n```\nplain\n```\n"
	got := fencedBlocks(md)
	assert.Equal(t, []string{"package main\n\nfunc main() {}\n"}, got["go"])
	assert.Equal(t, []string{"OUT\n"}, got["text"])
	assert.Equal(t, []string{"plain\n"}, got[""])
}
