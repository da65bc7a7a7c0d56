// Command hotlinectl administers the casework database: migrations, API users and
// their tokens, and the unit directory.
//
//	hotlinectl migrate
//	hotlinectl user add --name NAME --role ROLE [--unit UNIT_ID] [--staff STAFF_NO]
//	hotlinectl user list
//	hotlinectl user disable --user USER_ID
//	hotlinectl user enable --user USER_ID
//	hotlinectl token create --user USER_ID [--expires 720h]
//	hotlinectl token revoke TOKEN_ID
//	hotlinectl units import FILE.csv
//	hotlinectl units list
//
// Environment: HOTLINE_DATABASE_URL (required), HOTLINE_DUTYLINE_TRUNKS
// (comma-separated PJSIP trunks duty lines may use; default "dutylines").
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "hotlinectl:", err)
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "hotlinectl:", err)
		os.Exit(1)
	}
}
