package car

// DefaultMaxBlockSize is the largest block (section data after the CID) a
// Reader accepts unless WithMaxBlockSize says otherwise: 8 MiB. It matches
// go-car/v2's default section limit, so every CAR go-car reads with default
// options is within our limit too, and is four times the 2 MiB that atproto
// relays accept for a whole firehose event, so no real repo block comes near
// it. The limit exists so that a corrupt length prefix cannot make the
// reader allocate gigabytes.
const DefaultMaxBlockSize = 8 << 20

// MaxHeaderSize is the largest CAR header accepted: 1 MiB, room for about
// 25,000 roots. atproto CARs have one root.
const MaxHeaderSize = 1 << 20

// maxCIDSize bounds the CID at the start of a section when reporting on
// sections whose CID is not the 36-byte sha2-256 CIDv1 we accept.
const maxCIDSize = 128

// Option configures a Reader.
type Option func(*options)

type options struct {
	maxBlockSize int64
	reuseBuffer  bool
	withoutCIDs  bool
	noHashCheck  bool
	// backgroundScan: OpenIndex and IndexBytes scan the framing on a
	// goroutine (WithBackgroundScan).
	backgroundScan bool
}

func defaultOptions() options {
	return options{maxBlockSize: DefaultMaxBlockSize}
}

// WithMaxBlockSize sets the largest block, in bytes, that Next accepts;
// larger declared sizes fail with ErrBlockTooLarge before anything is
// allocated. n <= 0 selects DefaultMaxBlockSize.
func WithMaxBlockSize(n int) Option {
	return func(o *options) {
		if n <= 0 {
			o.maxBlockSize = DefaultMaxBlockSize
			return
		}
		o.maxBlockSize = int64(n)
	}
}

// WithReuseBuffer makes Next read every block into one internal buffer:
// Block.Data is then only valid until the next call to Next. Without it,
// each Block.Data is a fresh slice the caller owns.
func WithReuseBuffer() Option {
	return func(o *options) { o.reuseBuffer = true }
}

// WithoutCIDs leaves Block.CID undefined on blocks read without error, to
// save an allocation per block; Block.Digest and Block.Codec identify the
// block instead. Errors still name the CID.
func WithoutCIDs() Option {
	return func(o *options) { o.withoutCIDs = true }
}

// WithoutHashCheck makes Next leave checking each block's bytes against
// its CID to the caller, who must call Block.Check on every block Next
// returns: hashing is most of a read's work, and this lets a caller spread
// it over goroutines. Everything else Next checks is unchanged.
func WithoutHashCheck() Option {
	return func(o *options) { o.noHashCheck = true }
}

// WithBackgroundScan makes OpenIndex and IndexBytes return once the header
// is read, and scan the framing on a goroutine while the caller reads
// blocks: a Get or Has of a block not reached yet waits for the scan, and
// Index.Wait gives the scan's verdict. Reader ignores it.
func WithBackgroundScan() Option {
	return func(o *options) { o.backgroundScan = true }
}
