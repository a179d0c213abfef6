package awslocal

import (
	"cmp"
	"fmt"
	"strings"
)

func ssmParameterARN(name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", Region, Account, strings.TrimPrefix(name, "/"))
}

// findParameter finds a parameter by name or ARN.
func (r *request) findParameter(ref string) *Parameter {
	for i := range r.world.Parameters {
		p := &r.world.Parameters[i]
		if p.Name == ref || ssmParameterARN(p.Name) == ref {
			return p
		}
	}
	return nil
}

func ssmGetParameter(r *request) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	p := r.findParameter(in.Name)
	if p == nil {
		return nil, badRequest("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": p.Name, "Type": p.Type, "Value": p.Value, "Version": p.Version,
		"LastModifiedDate": epoch(p.LastModified), "ARN": ssmParameterARN(p.Name), "DataType": "text",
	}}, nil
}

func ssmPutParameter(r *request) (any, error) {
	var in struct {
		Name      string  `json:"Name"`
		Value     *string `json:"Value"`
		Type      string  `json:"Type"`
		Overwrite bool    `json:"Overwrite"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.Name == "" || in.Value == nil {
		return nil, badRequest("ValidationException", "PutParameter needs Name and Value.")
	}
	switch in.Type {
	case "", "String", "StringList", "SecureString":
	default:
		return nil, badRequest("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	p := r.findParameter(in.Name)
	if p == nil {
		r.world.Parameters = append(r.world.Parameters, Parameter{Name: in.Name, Type: cmp.Or(in.Type, "String"), Value: *in.Value, Version: 1, LastModified: r.now})
		return map[string]any{"Version": 1, "Tier": "Standard"}, nil
	}
	if !in.Overwrite {
		return nil, badRequest("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	p.Value, p.Version, p.LastModified = *in.Value, p.Version+1, r.now
	if in.Type != "" {
		p.Type = in.Type
	}
	return map[string]any{"Version": p.Version, "Tier": "Standard"}, nil
}
