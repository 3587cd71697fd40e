package main

import "fmt"

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
