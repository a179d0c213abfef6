package awslocal

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"
)

type rdsEndpoint struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneID string `xml:"HostedZoneId"`
}

type rdsInstanceOut struct {
	DBInstanceIdentifier string      `xml:"DBInstanceIdentifier"`
	DBInstanceArn        string      `xml:"DBInstanceArn"`
	DBInstanceClass      string      `xml:"DBInstanceClass"`
	Engine               string      `xml:"Engine"`
	EngineVersion        string      `xml:"EngineVersion,omitempty"`
	DBInstanceStatus     string      `xml:"DBInstanceStatus"`
	MultiAZ              bool        `xml:"MultiAZ"`
	AllocatedStorage     int32       `xml:"AllocatedStorage"`
	AvailabilityZone     string      `xml:"AvailabilityZone"`
	Endpoint             rdsEndpoint `xml:"Endpoint"`
	InstanceCreateTime   string      `xml:"InstanceCreateTime,omitempty"`
}

// rdsDescribeResult is DescribeDBInstances' result element; awsQuery
// lists hold their members as elements named after the member shape.
type rdsDescribeResult struct {
	XMLName     xml.Name         `xml:"DescribeDBInstancesResult"`
	DBInstances []rdsInstanceOut `xml:"DBInstances>DBInstance"`
	Marker      string           `xml:"Marker,omitempty"`
}

func rdsDescribeDBInstances(r *request) (any, error) {
	id := r.form.Get("DBInstanceIdentifier")
	limit := 100
	if s := r.form.Get("MaxRecords"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 20 || n > 100 {
			return nil, badRequest("InvalidParameterValue", "MaxRecords must be between 20 and 100.")
		}
		limit = n
	}
	if r.form.Get("Filters.Filter.1.Name") != "" {
		return nil, badRequest("InvalidParameterCombination", "awslocal does not evaluate DescribeDBInstances filters")
	}
	var list []rdsInstanceOut
	for _, db := range r.world.DBInstances {
		if id == "" || db.Identifier == id {
			list = append(list, describeDBInstance(db))
		}
	}
	if id != "" && len(list) == 0 {
		return nil, &apiError{Code: "DBInstanceNotFound", Status: 404, Message: fmt.Sprintf("DBInstance %s not found.", id)}
	}
	page, next, err := paginate(list, r.form.Get("Marker"), limit, 100)
	if err != nil {
		return nil, err
	}
	out := rdsDescribeResult{DBInstances: page}
	if next != nil {
		out.Marker = *next
	}
	return out, nil
}

func describeDBInstance(db DBInstance) rdsInstanceOut {
	out := rdsInstanceOut{
		DBInstanceIdentifier: db.Identifier,
		DBInstanceArn:        fmt.Sprintf("arn:aws:rds:%s:%s:db:%s", Region, Account, db.Identifier),
		DBInstanceClass:      cmp.Or(db.Class, "db.t3.medium"),
		Engine:               cmp.Or(db.Engine, "postgres"),
		EngineVersion:        db.EngineVersion,
		DBInstanceStatus:     db.Status,
		MultiAZ:              db.MultiAZ,
		AllocatedStorage:     db.AllocatedStorage,
		AvailabilityZone:     Region + "a",
		Endpoint: rdsEndpoint{
			Address: fmt.Sprintf("%s.abcdefghijkl.%s.rds.amazonaws.com", db.Identifier, Region),
			Port:    5432, HostedZoneID: "Z2R2ITUGPM61AM",
		},
	}
	if !db.CreatedAt.IsZero() {
		out.InstanceCreateTime = db.CreatedAt.UTC().Format(time.RFC3339)
	}
	return out
}
