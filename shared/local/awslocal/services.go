package awslocal

import "net/http"

// operation is one operation of a service: it reads the request's input,
// acts on the world and returns the output its protocol writes.
type operation func(r *request) (any, error)

// service is one AWS service the stand-in answers.
type service struct {
	// name is the stand-in's name for it, used in faults and calls.
	name string
	// signingName is its SigV4 service name, which tells its requests
	// apart.
	signingName string
	// iamPrefix is its IAM action prefix, for access-denied messages.
	iamPrefix string
	proto     protocol
	ops       map[string]operation
	codes     faultCodes
	// invalid is its code for an input it cannot read.
	invalid string
}

// The services, by the stand-in's name and by signing name.
var (
	servicesByName        = map[string]*service{}
	servicesBySigningName = map[string]*service{}
)

func init() {
	for _, s := range []*service{ecsService(), cloudwatchService(), logsService(), rdsService(), ssmService(), sesService()} {
		servicesByName[s.name] = s
		servicesBySigningName[s.signingName] = s
	}
}

// jsonFaults are the fault codes JSON 1.1 services answer.
func jsonFaults(internal string) faultCodes {
	return faultCodes{
		throttle: "ThrottlingException", throttleStatus: http.StatusBadRequest,
		denied: "AccessDeniedException", deniedStatus: http.StatusBadRequest,
		internal: internal,
	}
}

func ecsService() *service {
	return &service{
		name: "ecs", signingName: "ecs", iamPrefix: "ecs",
		proto: &jsonProtocol{target: "AmazonEC2ContainerServiceV20141113"},
		ops: map[string]operation{
			"DescribeServices":       ecsDescribeServices,
			"UpdateService":          ecsUpdateService,
			"ListTasks":              ecsListTasks,
			"DescribeTasks":          ecsDescribeTasks,
			"DescribeTaskDefinition": ecsDescribeTaskDefinition,
			"ListTaskDefinitions":    ecsListTaskDefinitions,
		},
		codes:   jsonFaults("ServerException"),
		invalid: "InvalidParameterException",
	}
}

func cloudwatchService() *service {
	return &service{
		name: "cloudwatch", signingName: "monitoring", iamPrefix: "cloudwatch",
		proto: &cborProtocol{service: "GraniteServiceVersion20100801"},
		ops:   map[string]operation{"GetMetricData": cwGetMetricData},
		codes: faultCodes{
			throttle: "Throttling", throttleQuery: "Throttling;Sender", throttleStatus: http.StatusBadRequest,
			denied: "AccessDenied", deniedStatus: http.StatusForbidden,
			internal: "InternalServiceFault",
		},
		invalid: "InvalidParameterValue",
	}
}

func logsService() *service {
	return &service{
		name: "logs", signingName: "logs", iamPrefix: "logs",
		proto:   &jsonProtocol{target: "Logs_20140328"},
		ops:     map[string]operation{"FilterLogEvents": logsFilterLogEvents},
		codes:   jsonFaults("ServiceUnavailableException"),
		invalid: "InvalidParameterException",
	}
}

func rdsService() *service {
	return &service{
		name: "rds", signingName: "rds", iamPrefix: "rds",
		proto: &queryProtocol{xmlns: "http://rds.amazonaws.com/doc/2014-10-31/"},
		ops:   map[string]operation{"DescribeDBInstances": rdsDescribeDBInstances},
		codes: faultCodes{
			throttle: "Throttling", throttleStatus: http.StatusBadRequest,
			denied: "AccessDenied", deniedStatus: http.StatusForbidden,
			internal: "InternalFailure",
		},
		invalid: "InvalidParameterValue",
	}
}

func ssmService() *service {
	return &service{
		name: "ssm", signingName: "ssm", iamPrefix: "ssm",
		proto: &jsonProtocol{target: "AmazonSSM"},
		ops: map[string]operation{
			"GetParameter": ssmGetParameter,
			"PutParameter": ssmPutParameter,
		},
		codes:   jsonFaults("InternalServerError"),
		invalid: "ValidationException",
	}
}

func sesService() *service {
	return &service{
		name: "ses", signingName: "ses", iamPrefix: "ses",
		proto: &restProtocol{routes: []route{
			{http.MethodPost, "/v2/email/outbound-emails", "SendEmail"},
		}},
		ops: map[string]operation{"SendEmail": sesSendEmail},
		codes: faultCodes{
			throttle: "TooManyRequestsException", throttleStatus: http.StatusTooManyRequests,
			denied: "AccessDeniedException", deniedStatus: http.StatusForbidden,
			internal: "InternalFailure",
		},
		invalid: "BadRequestException",
	}
}
