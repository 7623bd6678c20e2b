using AlignSharp.Tokenization.ChatTemplates;
using static AlignSharp.Tests.ChatTemplates.TemplateTestKit;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Errors name the construct and the template line; raise_exception keeps the template's own message.</summary>
public sealed class TemplateErrorTests
{
    [Fact]
    public void Unsupported_tag_is_named_with_its_line()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("line one\n{% include 'other.jinja' %}"));
        Assert.Equal("chat template line 2: unsupported construct: the '{% include %}' tag is not supported by this chat-template renderer", ex.Message);
        Assert.Equal(2, ex.Line);
        Assert.IsAssignableFrom<AlignSharpException>(ex);
    }

    [Fact]
    public void Unknown_filter_and_test_are_named()
    {
        var filter = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{{ x | frobnicate }}"));
        Assert.Equal("chat template line 1: unsupported construct: no filter named 'frobnicate'", filter.Message);
        var test = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("\n\n{% if x is frobnicated %}{% endif %}"));
        Assert.Equal("chat template line 3: unsupported construct: no test named 'frobnicated'", test.Message);
    }

    [Fact]
    public void Syntax_errors_name_what_was_expected()
    {
        var unclosed = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% if true %}\nno end"));
        Assert.Equal("chat template line 2: unexpected end of template: expected '{% elif %}' or '{% else %}' or '{% endif %}'", unclosed.Message);
        var dangling = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{{ 1 + }}"));
        Assert.Equal("chat template line 1: syntax error: unexpected '}}'", dangling.Message);
        var loopControl = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% break %}"));
        Assert.Equal("chat template line 1: '{% break %}' outside of a for loop", loopControl.Message);
    }

    [Fact]
    public void Raise_exception_carries_the_templates_message_verbatim()
    {
        var ex = Assert.Throws<ChatTemplateRaisedException>(() => Render("ok\n{{ raise_exception('Roles must alternate ' ~ 2) }}"));
        Assert.Equal("Roles must alternate 2", ex.Message);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void Attribute_of_undefined_fails_like_jinja()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("{{ missing.name }}"));
        Assert.Equal("chat template line 1: 'missing' is undefined", ex.Message);
        var nested = Assert.Throws<ChatTemplateException>(() => Render("{{ {'a': 1}.b.c }}"));
        Assert.Equal("chat template line 1: 'dict object' has no attribute 'b'", nested.Message);
    }

    [Fact]
    public void Type_errors_use_pythons_wording()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("\n{{ 'a' + 1 }}"));
        Assert.Equal("chat template line 2: TypeError: can only concatenate str (not \"int\") to str", ex.Message);
    }

    [Fact]
    public void Mutating_methods_are_refused_as_in_the_immutable_sandbox()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("{{ [1].append(2) }}"));
        Assert.Equal("chat template line 1: SecurityError: access to attribute 'append' of 'list' object is unsafe.", ex.Message);
    }
}
