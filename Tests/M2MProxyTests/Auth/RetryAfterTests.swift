import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct RetryAfterTests {
        static let now = 1_445_412_480  // Wed, 21 Oct 2015 07:28:00 GMT

        @Test func deltaSeconds() {
            #expect(RetryAfter.parse("120", now: Self.now) == 120)
            #expect(RetryAfter.parse("0", now: Self.now) == 0)
            #expect(RetryAfter.parse(" 5 ", now: Self.now) == 5)
            #expect(RetryAfter.parse("99999999999999999999999999", now: Self.now) == RetryAfter.maxSeconds)
        }

        @Test func imfFixdate() {
            #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:30:00 GMT", now: Self.now) == 120)
            #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: Self.now) == 0)
            #expect(RetryAfter.parse("Thu, 22 Oct 2015 07:28:01 GMT", now: Self.now) == 86_401)
        }

        @Test func pastDateIsZero() {
            #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: Self.now) == 0)
        }

        @Test func obsoleteForms() {
            #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:29:00 GMT", now: Self.now) == 60)
            #expect(RetryAfter.parse("Wed Oct 21 07:28:30 2015", now: Self.now) == 30)
            #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: 784_111_777 - 10) == 10)
            // RFC 850 two-digit years more than 50 years ahead are in the past century.
            #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: 784_111_777 - 10) == 10)
            #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: Self.now) == 0)
        }

        @Test func httpDateValues() {
            #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT", now: 0) == 784_111_777)
            #expect(RetryAfter.httpDate("Tue, 29 Feb 2000 00:00:00 GMT", now: 0) == 951_782_400)
            #expect(RetryAfter.httpDate("Thu, 01 Jan 1970 00:00:00 GMT", now: 0) == 0)
            #expect(RetryAfter.httpDate("Tue, 31 Dec 2024 23:59:59 GMT", now: 0) == 1_735_689_599)
        }

        @Test(arguments: [
            "", "  ", "-5", "1.5", "12a", "soon", "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 21 Oct 2015 07:28 GMT",
            "Wed, 21 Oct 15 07:28:00 GMT", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
            "Wed, 29 Feb 2015 07:28:00 GMT", "Wed, 21 Oct 2015 24:00:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT",
            "wed, 21 oct 2015 07:28:00 GMT", "Wed 21 Oct 2015 07:28:00 GMT x", "Wed, 1 Oct 2015 07:28:00 GMT",
            "Wed, 21-Oct-15 07:28:00 GMT", "Wed Oct 123 07:28:00 2015",
        ])
        func garbage(_ value: String) {
            #expect(RetryAfter.parse(value, now: Self.now) == nil)
        }

        @Test func civilRoundTrip() {
            for days in stride(from: -800_000, through: 800_000, by: 997) {
                let date = RetryAfter.civilFromDays(days)
                #expect(RetryAfter.daysFromCivil(year: date.year, month: date.month, day: date.day) == days)
            }
            #expect(RetryAfter.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
            #expect(RetryAfter.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
            #expect(RetryAfter.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        }
    }
}
