package layouts

import (
	"flag"
	"os"
	"testing"
)

// fuzzMinimizeTime bounds how long the fuzz engine minimizes an input that
// found new coverage. Go's default (60 s) stalled `make fuzz`: minimizing a
// mutant of a 2.5 KiB layout seed tries O(n²) candidates, its worker reports
// no executions meanwhile, and a 20 s run then overran its deadline
// ("context deadline exceeded"). An explicit -test.fuzzminimizetime wins.
const fuzzMinimizeTime = "5s"

func TestMain(m *testing.M) {
	if spec := os.Getenv(coldVerifyEnv); spec != "" {
		os.Exit(runColdVerify(spec)) // a cold-verification process of BenchmarkVerifyVsPythonInToto
	}
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
