/// Parses a `Retry-After` value (RFC 9110 §10.2.3) into seconds from `now`.
///
/// Accepts delta-seconds (`120`) and the three HTTP-date forms of RFC 9110 §5.6.7: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`). Names are case-sensitive, as the RFC says; the weekday
/// must be a real name but is not checked against the date. A date in the past gives 0;
/// anything else gives nil.
enum RetryAfter {
    /// Larger waits are clamped to this (about 68 years) so callers can add it to a clock
    /// without overflow.
    static let maxSeconds = Int(Int32.max)

    static func parse(_ value: some StringProtocol, now: Int) -> Int? {
        let text = String(value).trimmingASCIIWhitespace()
        guard let first = text.utf8.first else { return nil }
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            return deltaSeconds(text)
        }
        guard let date = httpDate(text, now: now) else { return nil }
        if date <= now { return 0 }
        return min(date - now, maxSeconds)
    }

    private static func deltaSeconds(_ text: String) -> Int? {
        var seconds = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            seconds = min(seconds * 10 + Int(byte - UInt8(ascii: "0")), maxSeconds)
        }
        return seconds
    }

    // MARK: - HTTP-date

    private static let shortDays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Unix seconds for an HTTP-date, or nil.
    static func httpDate(_ text: String, now: Int) -> Int? {
        let fields = text.split(separator: " ").map(String.init)
        switch fields.count {
        case 6:
            // IMF-fixdate: "Sun," "06" "Nov" "1994" "08:49:37" "GMT"
            guard fields[0].hasSuffix(","), shortDays.contains(String(fields[0].dropLast())),
                fields[5] == "GMT",
                let day = number(fields[1], digits: 2), let month = month(fields[2]),
                let year = number(fields[3], digits: 4), let time = timeOfDay(fields[4])
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: time)
        case 4:
            // RFC 850: "Sunday," "06-Nov-94" "08:49:37" "GMT"
            guard fields[0].hasSuffix(","), longDays.contains(String(fields[0].dropLast())),
                fields[3] == "GMT"
            else { return nil }
            let dateParts = fields[1].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard dateParts.count == 3, let day = number(dateParts[0], digits: 2),
                let month = month(dateParts[1]), let shortYear = number(dateParts[2], digits: 2),
                let time = timeOfDay(fields[2])
            else { return nil }
            return timestamp(year: fullYear(shortYear, now: now), month: month, day: day, time: time)
        case 5:
            // asctime: "Sun" "Nov" "6" "08:49:37" "1994" (the day is space-padded to two).
            guard shortDays.contains(fields[0]), let month = month(fields[1]),
                fields[2].utf8.count <= 2, let day = number(fields[2], digits: fields[2].utf8.count),
                let time = timeOfDay(fields[3]), let year = number(fields[4], digits: 4)
            else { return nil }
            return timestamp(year: year, month: month, day: day, time: time)
        default:
            return nil
        }
    }

    /// RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the future is the
    /// most recent past year with those digits.
    private static func fullYear(_ shortYear: Int, now: Int) -> Int {
        let currentYear = civilFromDays(floorDivide(now, 86_400)).year
        var year = currentYear - currentYear % 100 + shortYear
        if year > currentYear + 50 { year -= 100 }
        return year
    }

    private static func month(_ name: String) -> Int? {
        months.firstIndex(of: name).map { $0 + 1 }
    }

    /// Exactly `digits` ASCII digits.
    private static func number(_ text: String, digits: Int) -> Int? {
        guard digits > 0, text.utf8.count == digits else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// "hh:mm:ss" → seconds since midnight. A leap second (60) is allowed, as RFC 5322 does.
    private static func timeOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let hour = number(parts[0], digits: 2), let minute = number(parts[1], digits: 2),
            let second = number(parts[2], digits: 2), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + second
    }

    private static func timestamp(year: Int, month: Int, day: Int, time: Int) -> Int? {
        guard day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        return daysFromCivil(year: year, month: month, day: day) * 86_400 + time
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's
    /// `days_from_civil`, http://howardhinnant.github.io/date_algorithms.html).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400  // [0, 399]
        let shiftedMonth = month > 2 ? month - 3 : month + 9  // March = 0
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1  // [0, 365]
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear  // [0, 146096]
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysFromCivil` (Hinnant's `civil_from_days`).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
