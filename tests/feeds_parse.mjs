// Parse .ics files with ical.js (Mozilla's JavaScript parser, vendored in
// tests/vendor/icaljs) and print every VEVENT as JSON, one line per file:
//
//   node tests/feeds_parse.mjs feed.ics [more.ics ...]
//   [{"uid": ..., "start_utc": "2027-03-23T08:00:00Z", "end_utc": ..., "sequence": 0,
//     "status": "CONFIRMED", "summary": ..., "location": ..., "description": ...}, ...]
//
// The independent, non-Python side of tests/test_feeds_crosscheck.py. Local times are
// resolved with the VTIMEZONE components of the file itself: for each file the timezone
// service is emptied (it then knows only UTC) and the file's zones are registered in it.
// A TZID without a VTIMEZONE in the file, or a floating time, is an error rather than a
// silent guess. All-day values are printed as dates ("2027-03-23") with all_day true.
// Exit status 2 and a message on stderr on any error.

import { readFileSync } from "node:fs";

import ICAL from "./vendor/icaljs/ical.js";

let current = "";

function fail(message) {
  process.stderr.write(`feeds_parse: ${current}: ${message}\n`);
  process.exit(2);
}

function iso(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

function day(time) {
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(time.year, 4)}-${pad(time.month)}-${pad(time.day)}`;
}

// One DTSTART/DTEND as an instant in UTC (or a date for an all-day value).
function resolve(uid, prop, zones) {
  const name = prop.name.toUpperCase();
  const time = prop.getFirstValue();
  if (time.isDate) return { date: day(time) };
  const tzid = prop.getParameter("tzid");
  if (tzid) {
    const zone = zones.get(tzid);
    if (!zone) fail(`${uid}: ${name};TZID=${tzid} has no VTIMEZONE in the file`);
    // ical.js looks a TZID up in the file's own VTIMEZONEs first; make sure it did.
    if (time.zone !== zone && time.zone?.component !== zone.component) {
      fail(`${uid}: ${name} was not resolved with the file's VTIMEZONE ${tzid}`);
    }
  } else if (time.zone !== ICAL.Timezone.utcTimezone) {
    fail(`${uid}: ${name} is a floating time (no TZID, no Z)`);
  }
  return { instant: iso(time.toUnixTime()) };
}

function parseFile(path) {
  let root;
  try {
    root = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
  } catch (error) {
    fail(`cannot parse: ${error.message}`);
  }
  if (root.name !== "vcalendar") fail(`expected VCALENDAR, got ${root.name}`);

  ICAL.TimezoneService.reset();
  const zones = new Map();
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    const zone = new ICAL.Timezone(vtimezone);
    if (zones.has(zone.tzid)) fail(`two VTIMEZONEs for ${zone.tzid}`);
    ICAL.TimezoneService.register(zone);
    zones.set(zone.tzid, zone);
  }

  const events = [];
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const uid = vevent.getFirstPropertyValue("uid");
    if (!uid) fail("a VEVENT without UID");
    const dtstart = vevent.getFirstProperty("dtstart");
    if (!dtstart) fail(`${uid}: no DTSTART`);
    const start = resolve(uid, dtstart, zones);
    const dtend = vevent.getFirstProperty("dtend");
    let end;
    if (dtend) {
      end = resolve(uid, dtend, zones);
    } else {
      // DURATION, or neither (RFC 5545 3.6.1): ical.js's Event works the end out.
      const endDate = new ICAL.Event(vevent).endDate;
      end = endDate.isDate ? { date: day(endDate) } : { instant: iso(endDate.toUnixTime()) };
    }
    const allDay = "date" in start;
    const sequence = vevent.getFirstPropertyValue("sequence");
    events.push({
      uid,
      start_utc: allDay ? start.date : start.instant,
      end_utc: allDay ? end.date : end.instant,
      all_day: allDay,
      sequence: sequence === null ? 0 : Number(sequence),
      status: vevent.getFirstPropertyValue("status") ?? "",
      summary: vevent.getFirstPropertyValue("summary") ?? "",
      location: vevent.getFirstPropertyValue("location") ?? "",
      description: vevent.getFirstPropertyValue("description") ?? "",
    });
  }
  return events;
}

const paths = process.argv.slice(2);
if (paths.length === 0) fail("usage: node feeds_parse.mjs FILE.ics [FILE.ics ...]");
for (const path of paths) {
  current = path;
  process.stdout.write(JSON.stringify(parseFile(path)) + "\n");
}
