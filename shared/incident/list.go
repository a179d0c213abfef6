package incident

// Page sizes of incident listings.
const (
	// DefaultListLimit is the page size when ListFilter.Limit is zero.
	DefaultListLimit = 50
	// MaxListLimit is the largest page; larger limits are lowered to it.
	MaxListLimit = 1000
)

// ListFilter selects incidents for a listing. Every field is optional: the
// zero filter lists every incident.
type ListFilter struct {
	// Status lists incidents in this status.
	Status Status
	// Service lists incidents of this service; with Status set too, only
	// those in that status.
	Service string
	// Severity keeps only incidents of this severity, whatever else is
	// set.
	Severity Severity
	// Limit is the most incidents in one page: 0 means DefaultListLimit.
	Limit int32
	// Cursor continues a listing where the previous page ended: pass the
	// next value the listing returned, with the same Status, Service and
	// Severity.
	Cursor string
}
