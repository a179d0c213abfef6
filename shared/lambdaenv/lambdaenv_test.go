package lambdaenv

import (
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	t.Setenv("LAMBDAENV_A", "a")
	t.Setenv("LAMBDAENV_B", "")
	got, err := Required("LAMBDAENV_A")
	if err != nil || len(got) != 1 || got[0] != "a" {
		t.Fatalf("Required(A) = %v, %v", got, err)
	}
	_, err = Required("LAMBDAENV_A", "LAMBDAENV_B", "LAMBDAENV_C")
	if err == nil || !strings.Contains(err.Error(), "LAMBDAENV_B LAMBDAENV_C") || strings.Contains(err.Error(), "LAMBDAENV_A") {
		t.Errorf("err = %v, want both missing variables named, and only those", err)
	}
}
