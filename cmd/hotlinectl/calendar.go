package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/store"
)

// cmdCalendarImport stores a notice; the casework services pick it up at their
// next calendar pass (HOTLINE_CALENDAR_REFRESH, 15 s by default), recompute
// provisional deadlines and pass it to the call services.
func cmdCalendarImport(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("calendar import", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErr("calendar import: want exactly one FILE")
	}
	raw, err := os.ReadFile(rest[0])
	if err != nil {
		return fmt.Errorf("calendar import: %w", err)
	}
	name := filepath.Base(rest[0])
	n, err := calendar.ParseImport(name, raw)
	if err != nil {
		return fmt.Errorf("calendar import: nothing imported:\n%w", err)
	}
	rec, err := store.NewCalendars(c.pool).Import(ctx, store.ImportInput{Notice: n, Format: calendar.DetectFormat(raw),
		FileName: name, Raw: raw, By: c.actor})
	var conflict *store.ImportConflictError
	if errors.As(err, &conflict) {
		return fmt.Errorf("calendar import: nothing imported: %w", conflict)
	}
	if err != nil {
		return err
	}
	c.audit(ctx, access.ActionCreate, "calendar_notice", strconv.FormatInt(rec.ID, 10))
	off, work := len(n.DaysOff()), len(n.WorkedWeekends())
	fmt.Fprintf(c.stdout, "calendar %d: imported as revision %d (%d days off, %d makeup working days); in force within a minute\n",
		rec.Year, rec.ID, off, work)
	return nil
}

// cmdCalendarShow prints the year as the services count it.
func cmdCalendarShow(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("calendar show", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErr("calendar show: want exactly one YEAR")
	}
	year, err := strconv.Atoi(rest[0])
	if err != nil || year < calendar.MinYear || year > calendar.MaxYear {
		return usageErr("calendar show: YEAR must be a year from %d to %d", calendar.MinYear, calendar.MaxYear)
	}
	cals := store.NewCalendars(c.pool)
	imported, _, err := cals.InForce(ctx)
	if err != nil {
		return err
	}
	embedded, err := calendar.Embedded()
	if err != nil {
		return err
	}
	cal, err := calendar.Build(calendar.Merge(embedded, imported))
	if err != nil {
		return err
	}
	n, official, err := cal.Notice(year)
	if err != nil {
		return err
	}
	imports, err := cals.Imports(ctx, year)
	if err != nil {
		return err
	}
	switch {
	case !official:
		fmt.Fprintf(c.stdout, "%d: PROVISIONAL — no official notice; days off derived from the statute (全国年节及纪念日放假办法), no 调休.\n", year)
		fmt.Fprintf(c.stdout, "Deadlines counted on it are marked provisional and recomputed on import: hotlinectl calendar import FILE\n")
	case len(imports) > 0:
		fmt.Fprintf(c.stdout, "%d: official, imported by %s at %s (revision %d, %s)\n", year, imports[0].ImportedBy,
			imports[0].ImportedAt.In(time.Local).Format(time.DateTime), imports[0].ID, imports[0].FileName)
	default:
		fmt.Fprintf(c.stdout, "%d: official, embedded in the binaries\n", year)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\ndays off:")
	for _, d := range n.DaysOff() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Date, weekday(d.Date), d.Name)
	}
	fmt.Fprintln(tw, "makeup working days (调休):")
	if len(n.WorkedWeekends()) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	for _, d := range n.WorkedWeekends() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Date, weekday(d.Date), d.Name)
	}
	if len(imports) > 1 {
		fmt.Fprintln(tw, "earlier imports:")
		for _, im := range imports[1:] {
			fmt.Fprintf(tw, "  revision %d\t%s\t%s\t%s\n", im.ID, im.ImportedAt.In(time.Local).Format(time.DateTime), im.ImportedBy, im.FileName)
		}
	}
	return tw.Flush()
}

func weekday(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return ""
	}
	return [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()]
}
