package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// OperatorAlertsProps configures OperatorAlerts.
type OperatorAlertsProps struct {
	// Email, when not empty, is subscribed to the topic.
	Email string
	// PagerDutySecretName, when not empty, names the Secrets Manager
	// secret whose value is a PagerDuty "Amazon CloudWatch" integration
	// URL, subscribed to the topic over HTTPS.
	PagerDutySecretName string
	// Alarms are the stack's own alarms, which notify the topic when they
	// go to ALARM and back to OK.
	Alarms []awscloudwatch.Alarm
}

// OperatorAlerts is the path the stack's own alarms take besides becoming
// incidents: an SNS topic. When the pipeline itself is broken (PagerDuty
// keys wrong, escalations failing, the heartbeat stopped), its incident may
// not page anyone, so the operator hears of it out of band: by email, and
// through a PagerDuty service's Amazon CloudWatch integration, which SNS
// calls directly (it opens a PagerDuty incident on ALARM and resolves it on
// OK) without any part of this system in between.
type OperatorAlerts struct {
	constructs.Construct
	// Topic receives the alarms' state changes.
	Topic awssns.Topic
}

// NewOperatorAlerts creates the topic, subscribes the operator's contacts,
// and points the alarms at the topic.
func NewOperatorAlerts(scope constructs.Construct, id string, props *OperatorAlertsProps) *OperatorAlerts {
	c := constructs.NewConstruct(scope, jsii.String(id))
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("Dashboarduz incident response: operator alerts"),
		EnforceSSL:  jsii.Bool(true),
	})
	if props.Email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.Email), nil))
	}
	if props.PagerDutySecretName != "" {
		// A dynamic reference: CloudFormation reads the URL, which holds
		// the integration key, from Secrets Manager at deploy time, so it
		// is never in the template, cdk.out or the repository. PagerDuty
		// confirms the subscription by itself.
		url := awscdk.SecretValue_SecretsManager(jsii.String(props.PagerDutySecretName), nil).UnsafeUnwrap()
		topic.AddSubscription(awssnssubscriptions.NewUrlSubscription(url, &awssnssubscriptions.UrlSubscriptionProps{
			Protocol: awssns.SubscriptionProtocol_HTTPS,
		}))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	for _, a := range props.Alarms {
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}
	return &OperatorAlerts{Construct: c, Topic: topic}
}
