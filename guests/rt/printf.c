/* SPDX-License-Identifier: MIT */
/*
 * A small printf: %d %i %u %x %X %p %s %c %% with '-', '0', width, precision
 * for strings, and the h/l/ll/z length modifiers. Output goes to a sink, the
 * serial port (polling LSR.THRE, one IN + one OUT per character) or a buffer.
 */
#include "rt/rt.h"

struct sink {
	void (*put)(struct sink *s, char c);
	char *buf;
	size_t len, pos;
	int count;
};

void rt_putc(char c)
{
	while (!(rt_inb(ABI_UART_BASE + ABI_UART_LSR) & ABI_UART_LSR_THRE))
		;
	rt_outb(ABI_UART_BASE + ABI_UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

static void put_serial(struct sink *s, char c)
{
	(void)s;
	rt_putc(c);
}

static void put_buf(struct sink *s, char c)
{
	if (s->pos + 1 < s->len)
		s->buf[s->pos++] = c;
}

static void emit(struct sink *s, char c)
{
	s->put(s, c);
	s->count++;
}

static void pad(struct sink *s, int n, char c)
{
	while (n-- > 0)
		emit(s, c);
}

struct spec {
	bool left, zero;
	int width, prec;
};

static void emit_str(struct sink *s, const struct spec *sp, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (sp->prec < 0 || n < sp->prec))
		n++;
	if (!sp->left)
		pad(s, sp->width - n, ' ');
	for (int i = 0; i < n; i++)
		emit(s, str[i]);
	if (sp->left)
		pad(s, sp->width - n, ' ');
}

static void emit_num(struct sink *s, const struct spec *sp, uint64_t v, unsigned base,
		     bool neg, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0);
	if (!sp->left && !sp->zero)
		pad(s, sp->width - len, ' ');
	if (neg)
		emit(s, '-');
	if (!sp->left && sp->zero)
		pad(s, sp->width - len, '0');
	while (n)
		emit(s, tmp[--n]);
	if (sp->left)
		pad(s, sp->width - len, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		sp->prec = 0;
		for (f++; *f >= '0' && *f <= '9'; f++)
			sp->prec = sp->prec * 10 + (*f - '0');
	}
	return f;
}

static void format(struct sink *s, const char *f, va_list ap)
{
	va_list args;

	va_copy(args, ap);
	for (; *f; f++) {
		struct spec sp;
		int longs = 0;

		if (*f != '%') {
			emit(s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &args);
		for (; *f == 'l' || *f == 'z' || *f == 'h'; f++)
			longs += *f != 'h';
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(args, int64_t) : va_arg(args, int);

			emit_num(s, &sp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs ? va_arg(args, uint64_t) : va_arg(args, unsigned);

			emit_num(s, &sp, v, *f == 'u' ? 10 : 16, false, *f == 'X');
			break;
		}
		case 'p':
			emit_str(s, &(struct spec){ .prec = -1 }, "0x");
			emit_num(s, &sp, (uint64_t)(uintptr_t)va_arg(args, void *), 16, false, false);
			break;
		case 's':
			emit_str(s, &sp, va_arg(args, const char *));
			break;
		case 'c': {
			char c[2] = { (char)va_arg(args, int), 0 };

			emit_str(s, &sp, c);
			break;
		}
		case '%':
			emit(s, '%');
			break;
		case '\0':
			f--;
			break;
		default:
			emit(s, '%');
			emit(s, *f);
		}
	}
	va_end(args);
}

int rt_vprintf(const char *fmt, va_list ap)
{
	struct sink s = { .put = put_serial };

	format(&s, fmt, ap);
	return s.count;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int rt_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { .put = put_buf, .buf = buf, .len = len };

	format(&s, fmt, ap);
	if (len)
		buf[s.pos] = '\0';
	return s.count;
}

int rt_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
