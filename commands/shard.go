package commands

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// shardFlag is --shard i/n: split the work of a run between n runs, this
// one doing part i (0-based, as a Kubernetes indexed Job's
// JOB_COMPLETION_INDEX or a Slurm array from 0 count).
var shardFlag = &cli.StringFlag{Name: "shard", Usage: "`i/n`: do only part i (0 to n-1) of the work split n ways, e.g. --shard $JOB_COMPLETION_INDEX/8"}

// shardSpec is a parsed --shard; the zero value is the whole work.
type shardSpec struct{ Index, Count int }

func (s shardSpec) String() string {
	if s.Count <= 1 {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// parseShard reads --shard; a bad value is a usage error.
func parseShard(c *cli.Context) (shardSpec, error) {
	v := c.String("shard")
	if v == "" {
		return shardSpec{Count: 1}, nil
	}
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return shardSpec{}, usageErr("--shard %q: want i/n with 0 <= i < n, like 0/4", v)
	}
	return shardSpec{Index: i, Count: n}, nil
}
