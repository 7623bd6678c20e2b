using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Python/glibc <c>strftime</c> in the C locale (English names), including glibc's <c>%-d</c> no-padding flag.</summary>
internal static class PyStrftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            var c = format[++i];
            var noPad = false;
            if (c == '-' && i + 1 < format.Length)
            {
                noPad = true;
                c = format[++i];
            }
            string Num(int value, int width) => noPad ? value.ToString(CultureInfo.InvariantCulture) : value.ToString(new string('0', width), CultureInfo.InvariantCulture);
            var hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            sb.Append(c switch
            {
                'a' => Days[(int)t.DayOfWeek][..3],
                'A' => Days[(int)t.DayOfWeek],
                'b' or 'h' => Months[t.Month - 1][..3],
                'B' => Months[t.Month - 1],
                'c' => $"{Days[(int)t.DayOfWeek][..3]} {Months[t.Month - 1][..3]} {t.Day,2} {t:HH:mm:ss} {t.Year}",
                'C' => Num(t.Year / 100, 2),
                'd' => Num(t.Day, 2),
                'D' => t.ToString("MM/dd/yy", CultureInfo.InvariantCulture),
                'e' => noPad ? Num(t.Day, 1) : t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'F' => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                'H' => Num(t.Hour, 2),
                'I' => Num(hour12, 2),
                'j' => Num(t.DayOfYear, 3),
                'm' => Num(t.Month, 2),
                'M' => Num(t.Minute, 2),
                'n' => "\n",
                'p' => t.Hour < 12 ? "AM" : "PM",
                'R' => t.ToString("HH:mm", CultureInfo.InvariantCulture),
                'S' => Num(t.Second, 2),
                't' => "\t",
                'T' => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                'u' => ((int)t.DayOfWeek == 0 ? 7 : (int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                'w' => ((int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                'x' => t.ToString("MM/dd/yy", CultureInfo.InvariantCulture),
                'X' => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                'y' => Num(t.Year % 100, 2),
                'Y' => t.Year.ToString(CultureInfo.InvariantCulture),
                'U' => Num((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2),
                'W' => Num((t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7, 2),
                'z' or 'Z' => "",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + c,
            });
        }
        return sb.ToString();
    }
}
