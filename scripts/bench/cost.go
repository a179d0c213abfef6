package bench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
)

// DefaultPrices is prices.json, the one place the prices live.
//
//go:embed prices.json
var DefaultPrices []byte

// Price is one list price: USD per Per units.
type Price struct {
	USD       float64 `json:"usd"`
	Per       float64 `json:"per"`
	Unit      string  `json:"unit"`
	Source    string  `json:"source"`
	Confirmed string  `json:"confirmed"`
	SeenAt    string  `json:"seenAt,omitempty"`
}

// Each is the price of one unit.
func (p Price) Each() float64 { return p.USD / p.Per }

// Prices is prices.json.
type Prices struct {
	Region   string           `json:"region"`
	Currency string           `json:"currency"`
	Read     string           `json:"read"`
	Note     string           `json:"note"`
	Prices   map[string]Price `json:"prices"`
}

// The prices the cost model needs.
var priceNames = []string{
	"dynamodbWriteRequestUnit", "dynamodbReadRequestUnit", "lambdaArmGBSecond", "lambdaRequest",
	"stepFunctionsStandardTransition", "apiGatewayHttpRequest", "eventBridgeAwsServiceEvent",
}

// ParsePrices reads prices.json and checks it has every price the model
// needs, each with its source.
func ParsePrices(b []byte) (Prices, error) {
	var p Prices
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("prices: %w", err)
	}
	if p.Read == "" {
		return p, fmt.Errorf("prices: no date they were read")
	}
	for _, n := range priceNames {
		pr, ok := p.Prices[n]
		if !ok || pr.Per <= 0 || pr.USD < 0 || pr.Source == "" {
			return p, fmt.Errorf("prices: %s is missing, or has no per or source", n)
		}
	}
	return p, nil
}

// LoadPrices reads the prices from path, or the embedded ones when path is
// empty.
func LoadPrices(path string) (Prices, error) {
	if path == "" {
		return ParsePrices(DefaultPrices)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Prices{}, err
	}
	return ParsePrices(b)
}

var memoryPattern = regexp.MustCompile(`functionMemoryMB\s*=\s*(\d+)`)

// FunctionMemoryMB reads the memory the CDK app gives the functions from
// infra/functions.go, so the cost model follows the stack.
func FunctionMemoryMB(functionsGo string) (int, error) {
	b, err := os.ReadFile(functionsGo)
	if err != nil {
		return 0, err
	}
	m := memoryPattern.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("%s: no functionMemoryMB constant", functionsGo)
	}
	return strconv.Atoi(string(m[1]))
}

// Usage is what one unit of work (an incident's lifecycle, one alarm
// event) uses of each billed dimension.
type Usage struct {
	ReadUnits  float64 `json:"dynamodbReadUnits"`
	WriteUnits float64 `json:"dynamodbWriteUnits"`
	// LambdaRequests are function invocations; LambdaBilledMs their
	// durations, each rounded up to the millisecond as Lambda bills them.
	LambdaRequests float64 `json:"lambdaRequests"`
	LambdaBilledMs float64 `json:"lambdaBilledMs"`
	Transitions    float64 `json:"stepFunctionsTransitions"`
	APIRequests    float64 `json:"apiGatewayRequests"`
	Events         float64 `json:"eventBridgeEvents"`
}

// Scale multiplies every count by k.
func (u Usage) Scale(k float64) Usage {
	return Usage{u.ReadUnits * k, u.WriteUnits * k, u.LambdaRequests * k, u.LambdaBilledMs * k, u.Transitions * k, u.APIRequests * k, u.Events * k}
}

// Cost is USD by service.
type Cost struct {
	DynamoDB      float64 `json:"dynamodb"`
	Lambda        float64 `json:"lambda"`
	StepFunctions float64 `json:"stepFunctions"`
	APIGateway    float64 `json:"apiGateway"`
	EventBridge   float64 `json:"eventBridge"`
	Total         float64 `json:"total"`
}

// Cost prices u, for functions given memoryMB each.
func (p Prices) Cost(u Usage, memoryMB int) Cost {
	pr := p.Prices
	gbSeconds := u.LambdaBilledMs / 1000 * float64(memoryMB) / 1024
	c := Cost{
		DynamoDB:      u.ReadUnits*pr["dynamodbReadRequestUnit"].Each() + u.WriteUnits*pr["dynamodbWriteRequestUnit"].Each(),
		Lambda:        u.LambdaRequests*pr["lambdaRequest"].Each() + gbSeconds*pr["lambdaArmGBSecond"].Each(),
		StepFunctions: u.Transitions * pr["stepFunctionsStandardTransition"].Each(),
		APIGateway:    u.APIRequests * pr["apiGatewayHttpRequest"].Each(),
		EventBridge:   u.Events * pr["eventBridgeAwsServiceEvent"].Each(),
	}
	c.DynamoDB, c.Lambda, c.StepFunctions, c.APIGateway, c.EventBridge = cents(c.DynamoDB), cents(c.Lambda), cents(c.StepFunctions), cents(c.APIGateway), cents(c.EventBridge)
	c.Total = cents(c.DynamoDB + c.Lambda + c.StepFunctions + c.APIGateway + c.EventBridge)
	return c
}

// cents rounds to a hundredth of a cent, which is as far as a list price
// times a count means anything.
func cents(usd float64) float64 { return math.Round(usd*10000) / 10000 }
