package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// printTableHeader starts a Markdown table with one value column per run
// and one ratio column comparing the first run with each other one.
func printTableHeader(labels []string) {
	fmt.Print("| figure |")
	for _, l := range labels {
		fmt.Printf(" %s |", l)
	}
	for _, l := range labels[1:] {
		fmt.Printf(" %s vs %s |", labels[0], l)
	}
	fmt.Print("\n|---|")
	for range len(labels)*2 - 1 {
		fmt.Print("---:|")
	}
	fmt.Println()
}

// printRatioRow prints one figure for every run and how many times better
// the first run is than each other one (higher: a higher value is better).
// A zero value is a figure that was not measured.
func printRatioRow(name, format string, vals []float64, higher bool) {
	fmt.Printf("| %s |", name)
	for _, v := range vals {
		if v == 0 {
			fmt.Print(" n/a |")
		} else {
			fmt.Printf(" "+format+" |", v)
		}
	}
	a := vals[0]
	for _, b := range vals[1:] {
		switch {
		case a == 0 || b == 0:
			fmt.Print(" n/a |")
		case higher:
			fmt.Printf(" %.1fx |", a/b)
		default:
			fmt.Printf(" %.1fx |", b/a)
		}
	}
	fmt.Println()
}

// readResults reads the --json result files of one pdsload mode, in the
// order given (the first is arbor's).
func readResults[T any](files []string) ([]T, error) {
	var rs []T
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r T
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, errors.New("no result files")
	}
	return rs, nil
}

// tableRow is one figure of a results table: its name, how to read it from
// a result, its format, and whether higher is better.
type tableRow[T any] struct {
	name   string
	val    func(T) float64
	format string
	higher bool
}

// print prints the figure of each result and its ratios to the first.
func (rw tableRow[T]) print(rs []T) {
	vals := make([]float64, len(rs))
	for i, r := range rs {
		vals[i] = rw.val(r)
	}
	printRatioRow(rw.name, rw.format, vals, rw.higher)
}
