/* Times as people at the unit read them: an instant shown in the unit's time zone (or, without
   one, in the offset the service wrote), with that offset, in the reader's language
   ("2026年12月2日周三 23:59:59 +08:00", "Wed 2 Dec 2026, 23:59:59 +08:00"); countdowns in days
   and hours; anything unreadable or absurd shown as a marker, never "Invalid Date". */
"use strict";
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const SANE_YEARS = [2000, 2200];  // a case's times outside these are data errors, not dates

function parseInstant(text) {
  /* The moment an ISO 8601 string with an offset names, with that offset in minutes; null when
     it is not one (no offset, impossible fields, absurd year). */
  const m = typeof text === "string" ? ISO_INSTANT.exec(text.trim()) : null;
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v || 0));
  if (year < SANE_YEARS[0] || year > SANE_YEARS[1] || month < 1 || month > 12 || day < 1 || day > 31
      || hour > 23 || minute > 59 || second > 59) return null;
  const offset = m[7] === "Z" ? 0 : (m[7][0] === "-" ? -1 : 1) * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(-2)));
  const date = new Date(text.trim());
  if (Number.isNaN(date.getTime())) return null;
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;  // 31 November
  return { date, offset };
}

function zoneOffset(date, timeZone) {
  /* Minutes east of UTC in `timeZone` at that moment; null for a zone this browser does not know. */
  try {
    const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(date).find((p) => p.type === "timeZoneName").value;  // "GMT+08:00" or "GMT"
    const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
    return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] || 0)) : 0;
  } catch {
    return null;
  }
}

function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function withOffset(local, timeZone) {
  /* A wall-clock time in the unit's zone ("2026-11-28T15:00") as an instant with its offset. The
     offset is looked up at the instant it gives, a second time, so a time next to a clock change
     (Berlin 01:30 on the last Sunday of March) gets the offset in force then. */
  const wall = local.length === 16 ? `${local}:00` : local;
  const asUtc = Date.parse(`${wall}Z`);
  let offset = zoneOffset(new Date(asUtc), timeZone);
  if (offset === null) return `${wall}${offsetText(-new Date(wall).getTimezoneOffset())}`;  // zone unknown here
  offset = zoneOffset(new Date(asUtc - offset * 60000), timeZone) ?? offset;
  return `${wall}${offsetText(offset)}`;
}

const LOCALES = { zh: "zh-CN", en: "en-GB" };

function wallClock(instant, timeZone) {
  /* The instant's wall-clock date and time (as a UTC Date) and offset in the unit's zone. */
  const offset = (timeZone && zoneOffset(instant.date, timeZone)) ?? instant.offset;
  return { wall: new Date(instant.date.getTime() + offset * 60000), offset };
}

function unreadable(text, language) {
  /* The marker for a time that cannot be shown: a span with the raw value in its title. */
  const span = document.createElement("span");
  span.className = "bad-time";
  span.textContent = language === "zh" ? "⚠ 时间无法识别" : "⚠ unreadable time";
  span.title = String(text);
  return span;
}

function formatInstant(text, timeZone, language, withSeconds = true) {
  /* The text of an instant, or null when it cannot be read (the caller shows `unreadable`). */
  const instant = parseInstant(text);
  if (!instant) return null;
  const { wall, offset } = wallClock(instant, timeZone);
  const shown = new Intl.DateTimeFormat(LOCALES[language] || "en-GB", {
    timeZone: "UTC", weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: withSeconds ? "2-digit" : undefined, hourCycle: "h23",
  }).format(wall);
  return `${shown} ${offsetText(offset)}`;
}

function formatDay(text, timeZone, language) {
  /* The unit-local date of an instant (or of a plain YYYY-MM-DD), without the time. */
  const plain = /^\d{4}-\d{2}-\d{2}$/.test(text || "") ? parseInstant(`${text}T12:00:00Z`) : null;
  const instant = plain || parseInstant(text);
  if (!instant) return null;
  const { wall } = plain ? { wall: plain.date } : wallClock(instant, timeZone);
  return new Intl.DateTimeFormat(LOCALES[language] || "en-GB", { timeZone: "UTC", weekday: "short", year: "numeric",
    month: "short", day: "numeric" }).format(wall);
}

function timeNode(text, timeZone, language) {
  /* A <time> element for an instant, or the unreadable marker. */
  const shown = formatInstant(text, timeZone, language);
  if (shown === null) return unreadable(text, language);
  const node = document.createElement("time");
  node.dateTime = text;
  node.textContent = shown;
  return node;
}

function countdown(text, language, now = Date.now()) {
  /* Time left to a deadline in days and hours (hours and minutes in its last day), or how long it
     is overdue; null when the deadline cannot be read. */
  const instant = parseInstant(text);
  if (!instant) return null;
  const ms = instant.date.getTime() - now;
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const zh = language === "zh";
  let span;
  if (days) span = zh ? `${days} 天 ${hours} 小时` : `${days} ${days === 1 ? "day" : "days"} ${hours} h`;
  else if (hours) span = zh ? `${hours} 小时 ${mins} 分` : `${hours} h ${mins} min`;
  else if (mins) span = zh ? `${mins} 分钟` : `${mins} min`;
  else span = zh ? "不到 1 分钟" : "under 1 min";
  if (ms < 0) return { text: zh ? `已超时 ${span}` : `overdue by ${span}`, overdue: true };
  return { text: zh ? `剩 ${span}` : `${span} left`, overdue: false };
}
