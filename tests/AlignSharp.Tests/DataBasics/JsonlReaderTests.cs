using AlignSharp.Data;

namespace AlignSharp.Tests.DataBasics;

public sealed class JsonlReaderTests
{
    private static string Write(string text)
    {
        string path = TestTemp.File("records.jsonl");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_malformed_line_names_the_file_and_line()
    {
        string path = Write("{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a\",\"chosen\":\n");
        var e = Assert.Throws<DataException>(() => JsonlPreferenceReader.Read(path).ToList());
        Assert.Equal(new SourceLocation(path, 2), e.Where);
        Assert.StartsWith($"{path}:2: invalid JSON", e.Message);
    }

    [Fact]
    public void A_wrong_type_and_a_missing_field_are_named()
    {
        string path = Write("{\"prompt\":\"a\",\"chosen\":1,\"rejected\":\"c\"}\n");
        Assert.Equal($"{path}:1: field 'chosen' must be a string, got number", Assert.Throws<DataException>(() => JsonlPreferenceReader.Read(path).ToList()).Message);
        path = Write("{\"prompt\":\"a\",\"chosen\":\"b\"}\n");
        Assert.Equal($"{path}:1: missing field 'rejected'", Assert.Throws<DataException>(() => JsonlPreferenceReader.Read(path).ToList()).Message);
    }

    [Fact]
    public void Records_and_numeric_extras_are_read()
    {
        string path = Write("{\"prompt\":\"héllo\",\"chosen\":\" a\",\"rejected\":\" b\",\"chosen_score\":2.5}\n\n");
        var r = Assert.Single(JsonlPreferenceReader.Read(path));
        Assert.Equal("héllo", r.Prompt);
        Assert.Equal(2.5, r.Extras["chosen_score"]);
    }
}
