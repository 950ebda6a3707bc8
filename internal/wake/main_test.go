package wake_test

import (
	"testing"

	"github.com/shmpool/shmpool/internal/testutil"
)

// helpers are the helper processes this package's tests start; platform
// test files add theirs in init.
var helpers = map[string]func(){}

func TestMain(m *testing.M) {
	testutil.Main(m, helpers)
}
