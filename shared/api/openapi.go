package api

import _ "embed"

// OpenAPI is the OpenAPI 3.0 document of the API (openapi.yaml): every
// route, body, parameter and answer, and the bearer JWT security scheme.
//
//go:embed openapi.yaml
var OpenAPI []byte
