package proto_test

import (
	"testing"

	"github.com/shmpool/shmpool/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m, nil) }
