// Package hugepages asks the kernel for transparent huge pages under the
// large tables that arbor probes at random: the archive's block table and
// the set of nodes mst.Verify has visited. With 4 KiB pages, nearly every
// probe of a table of tens of MiB also misses the TLB, and the page walk
// costs about as much as the cache miss itself. The advice is only that:
// where huge pages are off, or on systems without them, nothing changes
// but the speed.
package hugepages
