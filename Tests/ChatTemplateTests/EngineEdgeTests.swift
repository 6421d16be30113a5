import ChatTemplate
import XCTest

/// Inputs that crashed the engine or rendered differently from jinja2 in review (each checked
/// against jinja2 3.1.6 under transformers' settings): the text jinja2 renders, or nil where
/// jinja2 raises or where Python's unbounded integers give a number past 64 bits (an error
/// here, never a crash).
final class EngineEdgeTests: XCTestCase {
    static let cases: [(String, String, String?)] = [
        ("with-loop-index", "{% for i in [1,2,3] %}{% with a=1 %}{{ loop.index }}{% endwith %}{% endfor %}", "123"),
        ("with-outer-values", "{% set a=5 %}{% with a=1, b=a %}{{ b }}{{ a }}{% endwith %}{{ a }}", "515"),
        ("with-break", "{% for i in [1,2,3] %}{% with a=i %}{{ a }}{% if a == 2 %}{% break %}{% endif %}{% endwith %}{% endfor %}", "12"),
        ("macro-sees-loop", "{% for u in ['x','y'] %}{% macro f() %}{{ u }}{% endmacro %}{{ f() }}{% endfor %}", "xy"),
        ("macro-sees-later-top-level", "{% macro f() %}{{ x }}{% endmacro %}{% set x = 1 %}{{ f() }}", "1"),
        ("macro-default-from-parameter", "{% set a = 9 %}{% macro f(a, b=a) %}{{ b }}{% endmacro %}{{ f(1) }}", "1"),
        ("tojson-positional", "{{ [1, 'é']|tojson(true) }}|{{ [1]|tojson(false, 2) }}", "[1, \"\\u00e9\"]|[\n  1\n]"),
        ("raw-newline", "a{% raw %}\nx\n{% endraw %}  {% if true %}y{% endif %}", "a\nx\n  y"),
        ("float-1e16", "{{ 1e16 }}|{{ 12345678901234567.0 }}|{{ -2e16 }}|{{ 1e15 }}|{{ [1e16]|tojson }}", "1e+16|1.2345678901234568e+16|-2e+16|1000000000000000.0|[1e+16]"),
        ("max-ties", "{{ ['a','A']|max }}|{{ ['A','a']|min }}|{{ ['b','B','a']|max }}", "a|A|b"),
        ("cycler-current", "{% set c = cycler('a','b') %}{{ c.current }}{{ c.next() }}{{ c.current }}{{ c.next() }}{{ c.current }}", "aabba"),
        ("indent-negative", "{{ 'a\nb'|indent(-1) }}", "a\nb"),
        ("format-negative-index", "{{ '{-1}'.format('a') }}", nil),
        ("int-huge", "{{ 1e300|int }}", nil),
        ("round-huge-negative", "{{ 5|round(-400) }}", "0"),
        ("slice-huge-step", "{{ 'ab'[1::9223372036854775807] }}", "b"),
        ("truncate-huge", "{{ 'a'|truncate(9223372036854775807) }}", "a"),
        ("range-huge", "{{ range(9223372036854775807)|length }}", nil),
        ("intmin-floordiv", "{% set m = -9223372036854775807 - 1 %}{{ m // -1 }}", nil),
        ("intmin-mod", "{% set m = -9223372036854775807 - 1 %}{{ m % -1 }}", "0"),
        ("intmin-divisibleby", "{% set m = -9223372036854775807 - 1 %}{{ m is divisibleby -1 }}", nil),
        ("intmin-abs", "{% set m = -9223372036854775807 - 1 %}{{ m|abs }}", nil),
        ("intmin-hex", "{% set m = -9223372036854775807 - 1 %}{{ '%x' % m }}", "-8000000000000000"),
        ("percent-c-huge", "{{ '%c' % 5000000000 }}", nil),
        ("percent-d-huge", "{{ '%d' % 1e300 }}", nil),
        ("repeat-empty-huge", "{{ ([] * 10**18)|length }}|{{ ('' * 10**18)|length }}", "0|0"),
        ("recursive-macro", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", nil),
        ("unknown-filter-line", "a\n\n{{ 1|nope }}", nil),
    ]

    func testEdgeCasesRenderAsJinja2OrFailCleanly() throws {
        for (name, source, expected) in Self.cases {
            let rendered = Result { try ChatTemplate(source).render(["messages": .none]).text }
            switch (rendered, expected) {
            case (.success(let text), let expected?): XCTAssertEqual(text, expected, name)
            case (.success(let text), nil): XCTFail("\(name): rendered \(String(reflecting: text)), jinja2 raises")
            case (.failure(let error), let expected?): XCTFail("\(name): \(error), jinja2 renders \(String(reflecting: expected))")
            case (.failure, nil): break
            }
        }
    }

    /// Nesting and recursion that overflowed the stack are errors naming the limit.
    func testDeepNestingAndRecursionAreErrors() throws {
        for source in ["{{ " + String(repeating: "(", count: 3000) + "1" + String(repeating: ")", count: 3000) + " }}",
                       "{{ " + String(repeating: "not ", count: 3000) + "1 }}",
                       String(repeating: "{% if true %}", count: 3000) + "x" + String(repeating: "{% endif %}", count: 3000),
                       String(repeating: "{{ -", count: 1) + String(repeating: "-", count: 3000) + "1 }}"] {
            XCTAssertThrowsError(try ChatTemplate(source)) { XCTAssertTrue("\($0)".contains("nested more than"), "\($0)") }
        }
        XCTAssertThrowsError(try ChatTemplate("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").render([:])) {
            XCTAssertTrue("\($0)".contains("levels deep"), "\($0)")
        }
        // An error at render time names the template line.
        XCTAssertThrowsError(try ChatTemplate("a\n\n{{ 1|nope }}").render([:])) { XCTAssertTrue("\($0)".contains("line 3"), "\($0)") }
    }
}
