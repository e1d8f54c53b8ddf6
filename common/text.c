/* text: see text.h. */
#include "common/text.h"

size_t text_tail(const char *s, size_t len, unsigned lines, size_t max)
{
    size_t end = len, start;
    while (end && s[end - 1] == '\n')
        end--;
    start = end;
    for (unsigned seen = 0; start && len - start < max; start--)
        if (s[start - 1] == '\n' && ++seen == lines)
            break;
    while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
        start++;
    return start;
}
