package incident

// Category is the kind of incident: the runbook's common incidents plus
// security and data loss, in kebab case.
type Category string

// The categories. The first five are the runbook's common incidents.
const (
	ServiceDown   Category = "service-down"
	Database      Category = "database"
	HighErrorRate Category = "high-error-rate"
	QueueBacklog  Category = "queue-backlog"
	Performance   Category = "performance"
	Security      Category = "security"
	DataLoss      Category = "data-loss"
	Other         Category = "other"
)

// Categories lists every category.
var Categories = []Category{ServiceDown, Database, HighErrorRate, QueueBacklog, Performance, Security, DataLoss, Other}

// ParseCategory returns the category named s.
func ParseCategory(s string) (Category, error) {
	for _, c := range Categories {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(EInvalid, "category %q is not one of service-down, database, high-error-rate, queue-backlog, performance, security, data-loss, other", s)
}
