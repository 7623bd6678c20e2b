using static AlignSharp.Tests.ChatTemplates.TemplateTestKit;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Hugging Face's Jinja environment: trim_blocks, lstrip_blocks, '-'/'+' modifiers, keep_trailing_newline=False.</summary>
public sealed class WhitespaceControlTests
{
    [Fact]
    public void Block_tags_on_their_own_line_leave_no_trace()
    {
        // lstrip_blocks removes the indentation before {% %}; trim_blocks removes the newline after it.
        Assert.Equal("A\n    B\nC", Render("A\n  {% if true %}\n    B\n  {% endif %}\nC"));
    }

    [Fact]
    public void Plus_modifier_disables_lstrip_and_trim()
    {
        // {%+ keeps the two spaces before the tag; +%} keeps the newline after it.
        Assert.Equal("A\n  B\n\nC", Render("A\n  {%+ if true %}\nB\n{% endif +%}\nC"));
    }

    [Fact]
    public void Minus_modifier_strips_all_whitespace_on_its_side()
    {
        Assert.Equal("x y z", Render("x {{- ' y ' -}} z"));
        Assert.Equal("abc", Render("a  {%- if true -%}  b  {%- endif -%}  c"));
    }

    [Fact]
    public void Variable_tags_keep_the_following_newline_and_one_trailing_newline_is_dropped()
    {
        Assert.Equal("v\nw", Render("{{ 'v' }}\n{{ 'w' }}\n"));
        Assert.Equal("a\n", Render("a\n\n"));
    }

    [Fact]
    public void Comments_are_removed_with_block_whitespace_rules()
    {
        Assert.Equal("x", Render("  {# note #}\nx"));
    }

    [Fact]
    public void Template_syntax_inside_message_content_is_printed_literally()
    {
        var messages = """[{"role": "user", "content": "{{ x }} {% raw %} {# c #}"}]""";
        Assert.Equal("{{ x }} {% raw %} {# c #}", Render("{{ messages[0].content }}", messagesJson: messages));
    }

    [Fact]
    public void Raw_blocks_are_not_evaluated()
    {
        Assert.Equal("{{ kept }}", Render("{% raw %}{{ kept }}{% endraw %}"));
    }
}
