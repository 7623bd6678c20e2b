using AlignSharp.Config;
using AlignSharp.Data.Chat;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Runs;

/// <summary>
/// The chat template a run renders conversational records with, from <c>data.chat_template</c> and the tokenizer: the
/// tokenizer folder's own by default, the built-in <see cref="PlainChatFormatter"/> when asked for as
/// <see cref="Plain"/>, or a template file. A tokenizer without a template gets no fallback: conversational records
/// then stop the run naming the fix (<see cref="MissingChatTemplate"/>); other data never needs one.
/// </summary>
/// <param name="Formatter">Renders conversations for the data loader.</param>
/// <param name="Source">
/// The template's Jinja source when it does not come with the tokenizer's files (plain or a file): what
/// <see cref="RunOutputFiles"/> writes into every saved folder's tokenizer_config.json. Null otherwise.
/// </param>
public sealed record RunChatTemplate(IChatFormatter Formatter, string? Source)
{
    /// <summary>The value of <c>data.chat_template</c> that picks the built-in plain template.</summary>
    public const string Plain = "plain";

    /// <summary>What a run without a template can do, as its error says.</summary>
    public const string RunFix = "set data.chat_template to a template (a .jinja file, or a tokenizer_config.json or " +
        "folder holding one), or to 'plain' for the built-in <|role|> template";

    /// <summary>The template of a run config.</summary>
    public static RunChatTemplate For(RunConfig config) =>
        Resolve(config.Data.ChatTemplate, RunTokenizer.SpecOf(config), config.PlaceOf("data.chat_template"), RunFix);

    /// <summary>
    /// Resolves <paramref name="template"/> (null, <see cref="Plain"/>, a file or a folder) for the tokenizer
    /// <paramref name="tokenizerSpec"/>; <paramref name="where"/> prefixes errors about the template value and
    /// <paramref name="fix"/> ends the error of conversational data without any template.
    /// </summary>
    /// <exception cref="ConfigException">The template is not found, holds no template, or does not parse.</exception>
    public static RunChatTemplate Resolve(string? template, string? tokenizerSpec, string where, string fix)
    {
        string? folder = RunTokenizer.Folder(tokenizerSpec);
        if (template is null)
        {
            var own = folder is null ? null : ChatFormatters.TemplateOf(folder);
            return own is null
                ? new(new MissingChatTemplate(tokenizerSpec ?? RunTokenizer.Byte, fix), null)
                : new(new TemplateChatFormatter(own), null);
        }
        if (template == Plain) return new(new PlainChatFormatter(), PlainChatFormatter.Jinja);
        try
        {
            ChatTemplate parsed;
            if (Directory.Exists(template))
                parsed = ChatFormatters.TemplateOf(template) ?? throw new ConfigException(
                    $"{where}: 'data.chat_template': {template} holds no chat template (no chat_template key in " +
                    "tokenizer_config.json, no chat_template.jinja)");
            else if (!File.Exists(template))
                throw new ConfigException($"{where}: 'data.chat_template': {template} not found ('{Plain}', a .jinja " +
                    "file, or a tokenizer_config.json or folder holding a template)");
            else if (template.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                parsed = ChatTemplate.FromTokenizerConfig(template);
            else
            {
                // A bare template file renders special tokens (bos_token, ...) as the tokenizer folder names them.
                string? config = folder is null ? null : Path.Combine(folder, "tokenizer_config.json");
                var tokens = config is not null && File.Exists(config) ? ChatTemplate.SpecialTokensOf(config) : null;
                parsed = ChatTemplate.Parse(File.ReadAllText(template), tokens);
            }
            return new(new TemplateChatFormatter(parsed), parsed.Source);
        }
        catch (ChatTemplateException e)
        {
            throw new ConfigException($"{where}: 'data.chat_template': {template}: {e.Message}");
        }
    }
}
