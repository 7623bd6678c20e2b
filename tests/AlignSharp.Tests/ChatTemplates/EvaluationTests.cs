using static AlignSharp.Tests.ChatTemplates.TemplateTestKit;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Loops, scoping, filters, tests and Python value semantics, with expectations worked out by hand from Jinja2's rules.</summary>
public sealed class EvaluationTests
{
    [Fact]
    public void Loop_variables_track_position()
    {
        Assert.Equal("10TrueFalse3;21FalseFalse3;32FalseTrue3;",
            Render("{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"));
    }

    [Fact]
    public void Loop_filter_else_break_and_continue()
    {
        // The 'if' filter runs before the loop, so loop.length counts the kept items (2 and 4).
        Assert.Equal("2/24/2|none", Render("{% for x in [1,2,3,4] if x is even %}{{ x }}/{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}none{% endfor %}"));
        Assert.Equal("023", Render("{% for i in range(6) %}{% if i == 1 %}{% continue %}{% elif i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}"));
    }

    [Fact]
    public void Set_inside_a_loop_does_not_leak_but_namespace_attributes_do()
    {
        Assert.Equal("outer 3", Render("{% set x = 'outer' %}{% set ns = namespace(n=0) %}{% for i in [1,2] %}{% set x = 'inner' %}{% set ns.n = ns.n + i %}{% endfor %}{{ x }} {{ ns.n }}"));
    }

    [Fact]
    public void Printing_containers_uses_python_repr()
    {
        Assert.Equal("{'a': [1, None, True, 2.5], 'b': \"it's\"}|{'k': 'v'}",
            Render("{{ {'a': [1, none, true, 2.5], 'b': \"it's\"} }}|{{ {'k': 'v'}|string }}"));
    }

    [Fact]
    public void Tojson_matches_python_json_dumps_with_ensure_ascii_false()
    {
        Assert.Equal("{\"city\": \"東京\", \"n\": [1, 2]}|{\n  \"a\": {\n    \"b\": []\n  }\n}",
            Render("{{ {'city': '東京', 'n': [1, 2]}|tojson }}|{{ {'a': {'b': []}}|tojson(indent=2) }}"));
    }

    [Fact]
    public void Selection_and_mapping_filters()
    {
        Assert.Equal("x|['a', 'c']", Render("{{ [{'r': 'user', 'c': 'x'}, {'r': 'bot', 'c': 'y'}]|selectattr('r', 'equalto', 'user')|map(attribute='c')|join(',') }}|{{ ['a', 'b', 'c']|reject('equalto', 'b')|list }}"));
    }

    [Fact]
    public void String_filters_and_defaults()
    {
        // trim strips Unicode whitespace (NBSP, ideographic space, tab) like Python's str.strip().
        Assert.Equal("[pad]|HELLO WORLD|Hello World|xd|[('a', 2), ('b', 1)]",
            Render("[{{ '\u00a0 pad \u3000\t'|trim }}]|{{ 'Hello World'|upper }}|{{ 'hello world'|title }}|{{ 'x'|default('d') }}{{ nope|default('d') }}|{{ {'b': 1, 'a': 2}|dictsort }}"));
    }

    [Fact]
    public void Select_returns_a_generator_which_is_always_truthy()
    {
        Assert.Equal("generator is truthy|", Render("{% if [0]|select %}generator is truthy{% endif %}|{% if [0]|select|list %}list is truthy{% endif %}"));
    }

    [Fact]
    public void Safe_strings_escape_what_is_added_to_them()
    {
        // markupsafe: Markup + str escapes the str; '~' joins plain strings.
        Assert.Equal("a&lt;b&gt;|a<b>", Render("{{ 'a'|safe + '<b>' }}|{{ 'a' ~ '<b>'|safe }}"));
    }

    [Fact]
    public void Macros_take_positional_keyword_and_default_arguments()
    {
        Assert.Equal("<p>hi</p><br></br>", Render("{% macro tag(name, body='') %}<{{ name }}>{{ body }}</{{ name }}>{% endmacro %}{{ tag('p', 'hi') }}{{ tag(name='br') }}"));
    }

    [Fact]
    public void Undefined_prints_empty_is_falsy_has_length_zero_and_iterates_empty()
    {
        Assert.Equal("[]False0False", Render("[{{ nope }}]{{ nope is defined }}{{ nope|length }}{% for x in nope %}never{% endfor %}{{ 'a' in nope }}"));
    }

    [Fact]
    public void Python_slicing_division_and_concatenation()
    {
        Assert.Equal("[2, 3][3, 2, 1]c320.5a1None", Render("{{ [1, 2, 3][1:] }}{{ [1, 2, 3][::-1] }}{{ 'abc'[-1] }}{{ 7 // 2 }}{{ -7 % 3 }}{{ 1 / 2 }}{{ 'a' ~ 1 ~ none }}"));
    }

    [Fact]
    public void Json_numbers_keep_int_float_and_big_int_forms()
    {
        var messages = """[{"role": "tool", "content": {"id": 12345678901234567890123, "t": 18.0, "n": 3, "p": 1e-7}}]""";
        Assert.Equal("{\"id\": 12345678901234567890123, \"t\": 18.0, \"n\": 3, \"p\": 1e-07}|{'id': 12345678901234567890123, 't': 18.0, 'n': 3, 'p': 1e-07}",
            Render("{{ messages[0].content|tojson }}|{{ messages[0].content }}", messagesJson: messages));
    }

    [Fact]
    public void Extra_variables_and_tools_none_are_visible()
    {
        Assert.Equal("01 Jan 2030|True|True", Render("{{ date_string }}|{{ tools is none }}|{{ tools is defined }}", """{"date_string": "01 Jan 2030"}"""));
    }

    [Fact]
    public void Strftime_now_uses_the_injected_clock()
    {
        Assert.Equal("26 Nov 2026|November 26, 2026|2026-11-26|Thursday",
            Render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%A') }}"));
    }

    [Fact]
    public void A_parsed_template_renders_the_same_every_time()
    {
        var template = AlignSharp.Tokenization.ChatTemplates.ChatTemplate.Parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}");
        var input = new AlignSharp.Tokenization.ChatTemplates.ChatTemplateInput(
            System.Text.Json.Nodes.JsonNode.Parse("""[{"role": "user", "content": "hi"}]""")!.AsArray());
        var results = Enumerable.Range(0, 8).AsParallel().Select(_ => template.Render(input)).ToList();
        Assert.All(results, r => Assert.Equal("user:hi;", r));
    }
}
