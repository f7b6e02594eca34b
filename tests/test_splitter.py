"""Unit tests of the statement splitter (no database).

The expected statements in ``CASES`` are what the Supabase CLI 2.117.0 stored for each input
(observed with ``supabase migration repair``; ``tests/test_splitter_cli.py`` re-checks the rules
against the real CLI).  A small, deliberately naive character-by-character model of the same
rules cross-checks the fast regex scanner on generated inputs.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supadeploy.migrations.splitter import Statement, line_and_column, split_statements
from supadeploy.migrations.splitter import _is_tag_char as is_tag_char  # the CLI-measured table

F = "create function f() returns int language sql "
B = "select begin atomic; select 2; "

CASES = [
    # basics
    pytest.param("select 1; select 2;", ['select 1', 'select 2'], id='two statements'),
    pytest.param("select 1;\nselect 2", ['select 1', 'select 2'], id='no final semicolon'),
    pytest.param("select 1;;; select 2;;", ['select 1', 'select 2'], id='empty statements dropped'),
    pytest.param(";;;", [], id='only semicolons'),
    pytest.param("", [], id='empty file'),
    pytest.param("   \n\t  \r\n", [], id='whitespace only'),
    pytest.param("select 1 ;  ; select 2", ['select 1', 'select 2'], id='space before semicolon'),
    pytest.param(
        "select 1;\n-- c1\n-- c2\nselect 2;\n-- tail\n",
        ['select 1', '-- c1\n-- c2\nselect 2', '-- tail'],
        id='comment stays with next statement',
    ),
    pytest.param("-- only comment", ['-- only comment'], id='comment only file'),
    pytest.param("/* c */ select 1;", ['/* c */ select 1'], id='block comment before statement'),
    pytest.param(
        "select 1; -- c\n; select 2;",
        ['select 1', '-- c', 'select 2'],
        id='comment between semicolons',
    ),
    pytest.param(
        "select 1; \n\n-- x\n\n/* y */\n\nselect 2;",
        ['select 1', '-- x\n\n/* y */\n\nselect 2'],
        id='blank lines and comments',
    ),
    pytest.param("select 1;/", ['select 1', '/'], id='lone slash'),
    # trailing-semicolon trimming
    pytest.param("select 1; -- c ;", ['select 1', '-- c'], id='trailing comment semicolon trimmed at eof'),
    pytest.param("select 1; -- c ;;", ['select 1', '-- c'], id='trailing comment semicolons trimmed at eof'),
    pytest.param(
        "select 1; -- c ;\n",
        ['select 1', '-- c ;'],
        id='trailing comment semicolon kept before newline',
    ),
    pytest.param("select 1; -- c ; ;", ['select 1', '-- c ;'], id='only the last run of semicolons'),
    pytest.param("select 1\n-- c;\n;", ['select 1\n-- c;'], id='comment semicolon then delimiter'),
    # whitespace
    pytest.param("select 1;\r\nselect 2;\r\n", ['select 1', 'select 2'], id='crlf'),
    pytest.param(
        "select 1,\r\n  2;\r\nselect 3;\r\n",
        ['select 1,\r\n  2', 'select 3'],
        id='crlf kept inside',
    ),
    pytest.param("\ufeffselect 1; select 2;", ['select 1', 'select 2'], id='bom at start'),
    pytest.param("select 1;\ufeffselect 2\ufeff;", ['select 1', 'select 2'], id='bom after semicolon'),
    pytest.param("select \ufeff1;", ['select \ufeff1'], id='bom inside kept'),
    pytest.param("\tselect 1;\t\n\tselect 2\t", ['select 1', 'select 2'], id='tabs'),
    pytest.param("\vselect 1\f;", ['select 1'], id='vertical tab and form feed trimmed'),
    pytest.param(
        "\xa0select 1\u3000;\u2028select 2\u202f;\u1680select 3\u205f;",
        ['select 1', 'select 2', 'select 3'],
        id='unicode spaces trimmed',
    ),
    pytest.param("select 1;\x85select 2\x85;", ['select 1', '\x85select 2\x85'], id='NEL not trimmed'),
    pytest.param(
        "select 1;\x1cselect 2\x1f;",
        ['select 1', '\x1cselect 2\x1f'],
        id='file separator not trimmed',
    ),
    pytest.param(
        "select 1;\u200bselect 2;",
        ['select 1', '\u200bselect 2'],
        id='zero width space not trimmed',
    ),
    # quotes
    pytest.param("select 'it''s;'; select 2;", ["select 'it''s;'", 'select 2'], id='doubled quote'),
    pytest.param(
        "select E'it\\'s;'; select 2;",
        ["select E'it\\'s", "'; select 2"],
        id='backslash in string is plain',
    ),
    pytest.param(
        "select e'a\\\\'; select 2;",
        ["select e'a\\\\'", 'select 2'],
        id='escaped backslash in string',
    ),
    pytest.param("select '--;'; select 2;", ["select '--;'", 'select 2'], id='dashes in string'),
    pytest.param("select 'a' 'b;' ; select 2;", ["select 'a' 'b;'", 'select 2'], id='adjacent strings'),
    pytest.param("select '\n;\n'; select 2;", ["select '\n;\n'", 'select 2'], id='newlines in string'),
    pytest.param('select "a""b;"; select 2;', ['select "a""b;"', 'select 2'], id='quoted identifier'),
    pytest.param(
        'select "a\\";" ; select 2;',
        ['select "a\\"', '" ; select 2'],
        id='backslash in quoted identifier is plain',
    ),
    pytest.param("select 'abc; select 2;", ["select 'abc; select 2"], id='unterminated string'),
    pytest.param(
        'select 1; "unterminated ; select 2;',
        ['select 1', '"unterminated ; select 2'],
        id='unterminated quoted identifier',
    ),
    pytest.param(
        "select 1 /* ' */; select 2 /* \" */; select 3 /* $$ */; select 4;",
        ["select 1 /* ' */", 'select 2 /* " */', 'select 3 /* $$ */', 'select 4'],
        id='quotes inside comments',
    ),
    pytest.param(
        "select $$ -- $$; select 2; select $$ /* $$; select 3;",
        ['select $$ -- $$', 'select 2', 'select $$ /* $$', 'select 3'],
        id='comment markers inside dollar quotes',
    ),
    # backslash in code
    pytest.param("select \\; select 2;", ['select \\; select 2'], id='backslash hides semicolon'),
    pytest.param("select \\'; select 2;", ["select \\'", 'select 2'], id='backslash hides quote'),
    pytest.param("select \\\\; select 2;", ['select \\\\', 'select 2'], id='double backslash'),
    pytest.param(
        "select \\$$; select 2; $$; select 3;",
        ['select \\$$', 'select 2', '$$; select 3'],
        id='backslash hides dollar',
    ),
    pytest.param("select \\(; select 2;", ['select \\(', 'select 2'], id='backslash hides open paren'),
    pytest.param(
        "select (1 \\) ; select 2); select 3;",
        ['select (1 \\)', 'select 2)', 'select 3'],
        id='backslash does not hide close paren',
    ),
    pytest.param(
        "select \\-- x; select \\/* y; select 3; */",
        ['select \\-- x', 'select \\/* y', 'select 3', '*/'],
        id='backslash hides comment',
    ),
    pytest.param("select (\\'; 2); 3;", ["select (\\'; 2)", '3'], id='backslash in parens hides quote'),
    pytest.param(
        B + "\\end; select 3;",
        ['select begin atomic; select 2; \\end', 'select 3'],
        id='backslash does not hide end',
    ),
    pytest.param("select 1;\\", ['select 1', '\\'], id='backslash at end of file'),
    pytest.param("select \\\n; select 2;", ['select \\', 'select 2'], id='backslash before newline'),
    # dollar quotes
    pytest.param("select $$a;b$$; select 2;", ['select $$a;b$$', 'select 2'], id='dollar quote'),
    pytest.param(
        "select $a1_$ x;y $a1_$; select 2;",
        ['select $a1_$ x;y $a1_$', 'select 2'],
        id='tagged dollar quote',
    ),
    pytest.param("select $é$ x;y $é$; select 2;", ['select $é$ x;y $é$', 'select 2'], id='unicode tag'),
    pytest.param("select $中$ ; $中$; select 2;", ['select $中$ ; $中$', 'select 2'], id='cjk tag'),
    pytest.param("select $1$ x; y $1$; select 2;", ['select $1$ x; y $1$', 'select 2'], id='digit-only tag'),
    pytest.param(
        "select $\U0001F600$ ; $\U0001F600$; select 2;",
        ['select $😀$', '$😀$', 'select 2'],
        id='emoji is not a tag char',
    ),
    pytest.param(
        "select $a b$ ; $a b$; select 2;",
        ['select $a b$', '$a b$', 'select 2'],
        id='space is not a tag char',
    ),
    pytest.param(
        "select $A$ x; y $a$; select 3; $A$; select 2;",
        ['select $A$ x; y $a$; select 3; $A$', 'select 2'],
        id='tags are case sensitive',
    ),
    pytest.param(
        "select $ab$ ; $abc$ ; select 3; $ab$; select 2;",
        ['select $ab$ ; $abc$ ; select 3; $ab$', 'select 2'],
        id='longer tag does not close',
    ),
    pytest.param(
        "select $a$b$ x; y $a$b$; select 2;",
        ['select $a$b$ x; y $a$b$', 'select 2'],
        id='inner tag inside',
    ),
    pytest.param("select $1, $2; select 3;", ['select $1, $2', 'select 3'], id='parameters'),
    pytest.param(
        "select $1 || $$x;$$; select 2;",
        ['select $1 || $$x;$$', 'select 2'],
        id='parameter then dollar quote',
    ),
    pytest.param(
        "select a$b from t; select 2;",
        ['select a$b from t', 'select 2'],
        id='dollar in identifier',
    ),
    pytest.param(
        "select a$$b; select 2;",
        ['select a$$b; select 2'],
        id='double dollar in identifier opens a quote',
    ),
    pytest.param(
        "select 1$$ ; $$; select 2;",
        ['select 1$$ ; $$', 'select 2'],
        id='digit then double dollar',
    ),
    pytest.param(
        "select x$1$ ; $1$; select 2;",
        ['select x$1$ ; $1$', 'select 2'],
        id='tag after identifier',
    ),
    pytest.param("select $a$ ; x$a$; select 2;", ['select $a$ ; x$a$', 'select 2'], id='closer inside word'),
    pytest.param("select $a$ ; $a$x; select 2;", ['select $a$ ; $a$x', 'select 2'], id='closer then word'),
    pytest.param(
        "select $$$ ; $$; select 2;",
        ['select $$$', '$$; select 2'],
        id='closer reuses opener dollar',
    ),
    pytest.param(
        "select $a$a$ ; $a$; select 2;",
        ['select $a$a$', '$a$; select 2'],
        id='tagged closer reuses opener dollar',
    ),
    pytest.param(
        "select $a$x$a$b$ ; $b$; select 2;",
        ['select $a$x$a$b$', '$b$; select 2'],
        id='closer does not share its last dollar',
    ),
    pytest.param(
        "select $$a$$$$b$$; select 2;",
        ['select $$a$$$$b$$', 'select 2'],
        id='back to back dollar quotes',
    ),
    pytest.param(
        "select $ab ; $ab$; select 2;",
        ['select $ab', '$ab$; select 2'],
        id='lone dollar swallows its tag',
    ),
    pytest.param("select $a--c\n; select 2;", ['select $a--c', 'select 2'], id='lone dollar then comment'),
    pytest.param(
        "select $'$ ; $'$; select 2;",
        ["select $'$ ; $'$", 'select 2'],
        id='lone dollar then quote',
    ),
    pytest.param(
        "select $;$ ; select 2; $;$; select 3;",
        ['select $', '$', 'select 2', '$', '$', 'select 3'],
        id='semicolon after dollar',
    ),
    pytest.param(
        "select 1; $$ unterminated ; select 2;",
        ['select 1', '$$ unterminated ; select 2'],
        id='unterminated dollar quote',
    ),
    pytest.param(
        "do $$\nbegin\n  perform 1;\nend\n$$;\nselect 2;",
        ['do $$\nbegin\n  perform 1;\nend\n$$', 'select 2'],
        id='do block',
    ),
    # comments
    pytest.param(
        "select 1 -- it's; here\n; select 2;",
        ["select 1 -- it's; here", 'select 2'],
        id='line comment with quote',
    ),
    pytest.param(
        "-- c\rselect 1; select 2;\nselect 3;",
        ['-- c\rselect 1; select 2;\nselect 3'],
        id='line comment ends at newline only',
    ),
    pytest.param("--x\r\n;select 1", ['--x', 'select 1'], id='crlf ends line comment'),
    pytest.param(
        "/* a /* b */ ; */ select 1; select 2;",
        ['/* a /* b */ ; */ select 1', 'select 2'],
        id='nested block comment',
    ),
    pytest.param(
        "/*/ ; */ select 1; select 2;",
        ['/*/', '*/ select 1', 'select 2'],
        id='slash star slash is a whole comment',
    ),
    pytest.param("/**/; select 1;", ['/**/', 'select 1'], id='empty block comment'),
    pytest.param(
        "/* a */* ; */; select 2;",
        ['/* a */*', '*/', 'select 2'],
        id='no reopen after outermost close',
    ),
    pytest.param(
        "/* /* a */* ; */ x; */; select 2;",
        ['/* /* a */* ; */ x; */', 'select 2'],
        id='reopen inside comment',
    ),
    pytest.param("/* /*/ */ ; select 1;", ['/* /*/ */', 'select 1'], id='nested slash star slash'),
    pytest.param("/*/*/ ; */ ; select 2;", ['/*/*/', '*/', 'select 2'], id='star slash star slash'),
    pytest.param("select 1 */ ; select 2;", ['select 1 */', 'select 2'], id='stray comment close'),
    pytest.param("select 1 -/* ; */; select 2;", ['select 1 -/* ; */', 'select 2'], id='dash before comment'),
    pytest.param(
        "select 1 /* a -- b */; select 2 -- /*\n; select 3;",
        ['select 1 /* a -- b */', 'select 2 -- /*', 'select 3'],
        id='dashes in block comment',
    ),
    pytest.param(
        "select 1; /* unterminated ; select 2;",
        ['select 1', '/* unterminated ; select 2'],
        id='unterminated block comment',
    ),
    # parentheses
    pytest.param(
        "select (1; select 2); select 3;",
        ['select (1; select 2)', 'select 3'],
        id='semicolon in parens',
    ),
    pytest.param("select ((1; 2); 3; 4); 5;", ['select ((1; 2)', '3', '4)', '5'], id='parens are a flag'),
    pytest.param(
        "select (1 (2; 3) 4; 5); 6;",
        ['select (1 (2; 3) 4', '5)', '6'],
        id='inner group closes parens',
    ),
    pytest.param("select (1)); 2; 3;", ['select (1))', '2', '3'], id='extra close paren'),
    pytest.param("select [1; 2]; 3;", ['select [1', '2]', '3'], id='brackets do not count'),
    pytest.param(
        "select 1; select (2; select 3; select 4",
        ['select 1', 'select (2; select 3; select 4'],
        id='unterminated paren',
    ),
    pytest.param("select (/*)*/; 2); 3;", ['select (/*)*/; 2)', '3'], id='comment hides close paren'),
    pytest.param("select (')'; 2); 3;", ["select (')'; 2)", '3'], id='quote hides close paren'),
    # begin atomic
    pytest.param(
        F + "begin atomic select 1; select 2; end; select 3;",
        ['create function f() returns int language sql begin atomic select 1; select 2; end', 'select 3'],
        id='atomic body',
    ),
    pytest.param(
        F + "BEGIN ATOMIC select 1; select 2; END; select 3;",
        ['create function f() returns int language sql BEGIN ATOMIC select 1; select 2; END', 'select 3'],
        id='atomic upper case',
    ),
    pytest.param(
        "select bEgIn AtOmIc; select 2; ENd; select 3;",
        ['select bEgIn AtOmIc; select 2; ENd', 'select 3'],
        id='atomic mixed case',
    ),
    pytest.param(
        F + "begin\n\tatomic select 1; select 2; end; select 3;",
        ['create function f() returns int language sql begin\n\tatomic select 1; select 2; end', 'select 3'],
        id='atomic newline tab',
    ),
    pytest.param(
        F + "begin\r\natomic\r\n select 1;\r\n select 2;\r\nend;\r\nselect 3;",
        [
            'create function f() returns int language sql begin\r\natomic\r\n select 1;\r\n select 2;\r\nend',
            'select 3',
        ],
        id='atomic crlf',
    ),
    pytest.param(
        F + "begin\xa0atomic select 1; select 2; end; select 3;",
        ['create function f() returns int language sql begin\xa0atomic select 1; select 2; end', 'select 3'],
        id='atomic nbsp',
    ),
    pytest.param(
        F + "begin\u3000atomic select 1; select 2; end; select 3;",
        [
            'create function f() returns int language sql begin\u3000atomic select 1; select 2; end',
            'select 3',
        ],
        id='atomic ideographic space',
    ),
    pytest.param(
        "select begin\ufeffatomic; select 2; end; select 3;",
        ['select begin\ufeffatomic; select 2; end', 'select 3'],
        id='atomic bom',
    ),
    pytest.param(
        "select begin\x85atomic; select 2; end; select 3;",
        ['select begin\x85atomic', 'select 2', 'end', 'select 3'],
        id='atomic NEL is not space',
    ),
    pytest.param(
        F + "begin /* c */ atomic select 1; select 2; end; select 3;",
        [
            'create function f() returns int language sql begin /* c */ atomic select 1',
            'select 2',
            'end',
            'select 3',
        ],
        id='atomic comment between',
    ),
    pytest.param(
        F + "xbegin atomic select 1; select 2; end; select 3;",
        [
            'create function f() returns int language sql xbegin atomic select 1',
            'select 2',
            'end',
            'select 3',
        ],
        id='atomic word prefix',
    ),
    pytest.param(
        F + "begin_atomic select 1; select 2; end; select 3;",
        ['create function f() returns int language sql begin_atomic select 1', 'select 2', 'end', 'select 3'],
        id='atomic underscore',
    ),
    pytest.param(
        F + "\"begin\" atomic select 1; select 2; end; select 3;",
        [
            'create function f() returns int language sql "begin" atomic select 1',
            'select 2',
            'end',
            'select 3',
        ],
        id='atomic quoted begin',
    ),
    pytest.param(
        "select begin atomically; select 2; end; select 3;",
        ['select begin atomically; select 2; end', 'select 3'],
        id='atomic is a prefix',
    ),
    pytest.param(
        "select beginatomic; select 2; end; select 3;",
        ['select beginatomic', 'select 2', 'end', 'select 3'],
        id='atomic no space',
    ),
    pytest.param(
        "select beg\u0131n atom\u0131c; select 2; end; select 3;",
        ['select beg\u0131n atom\u0131c; select 2; end', 'select 3'],
        id='dotless i',
    ),
    pytest.param(
        "select begİn atomic; select 2; end; select 3;",
        ['select begİn atomic', 'select 2', 'end', 'select 3'],
        id='dotted capital I',
    ),
    pytest.param(
        "select ébegin atomic; select 2; end; select 3;",
        ['select ébegin atomic', 'select 2', 'end', 'select 3'],
        id='begin after letter',
    ),
    pytest.param(
        "select 1begin atomic; select 2; end; select 3;",
        ['select 1begin atomic', 'select 2', 'end', 'select 3'],
        id='begin after digit',
    ),
    pytest.param(
        "select a.begin atomic; select 2; end; select 3;",
        ['select a.begin atomic; select 2; end', 'select 3'],
        id='begin after dot',
    ),
    pytest.param(
        "select \u0301begin atomic; select 2; end; select 3;",
        ['select ́begin atomic; select 2; end', 'select 3'],
        id='begin after combining mark',
    ),
    pytest.param(
        "select \U00010000begin atomic; x; end; select 3;",
        ['select 𐀀begin atomic; x; end', 'select 3'],
        id='begin after astral letter',
    ),
    pytest.param(
        "select $$x$$begin atomic; select 2; end; select 3;",
        ['select $$x$$begin atomic', 'select 2', 'end', 'select 3'],
        id='begin after dollar quote',
    ),
    pytest.param(
        "select 'x'begin atomic; select 2; end; select 3;",
        ["select 'x'begin atomic; select 2; end", 'select 3'],
        id='begin after string',
    ),
    pytest.param(
        "select \\begin atomic; select 2; end; select 3;",
        ['select \\begin atomic; select 2; end', 'select 3'],
        id='begin after backslash',
    ),
    pytest.param(
        "--begin\natomic; select 2; end; select 3;",
        ['--begin\natomic; select 2; end', 'select 3'],
        id='begin at end of line comment',
    ),
    pytest.param(
        "-- begin atomic\nselect 1; select 2; end; select 3;",
        ['-- begin atomic\nselect 1', 'select 2', 'end', 'select 3'],
        id='begin inside line comment',
    ),
    pytest.param(
        "select 'begin atomic'; select 2; end; select 3;",
        ["select 'begin atomic'", 'select 2', 'end', 'select 3'],
        id='begin atomic in string',
    ),
    pytest.param(
        "begin atomic; select 1; end; select 2;",
        ['begin atomic; select 1; end', 'select 2'],
        id='begin atomic without function',
    ),
    pytest.param(
        "begin; select 1; end; select 3;",
        ['begin', 'select 1', 'end', 'select 3'],
        id='plain begin end',
    ),
    pytest.param(
        "begin atomic select 1; end; begin atomic select 2; end; select 3;",
        ['begin atomic select 1; end', 'begin atomic select 2; end', 'select 3'],
        id='two atomic bodies',
    ),
    pytest.param(
        F + "begin atomic select case when true then 1 else 2 end; select 2; end; select 3;",
        [
            "create function f() returns int language sql begin atomic"
            " select case when true then 1 else 2 end",
            'select 2',
            'end',
            'select 3',
        ],
        id='case end closes the body',
    ),
    pytest.param(
        F + "begin atomic select backend; select 2; end; select 3;",
        [
            'create function f() returns int language sql begin atomic select backend',
            'select 2',
            'end',
            'select 3',
        ],
        id='end inside word closes',
    ),
    pytest.param(
        B + "ENDING; select 3;",
        ['select begin atomic; select 2; ENDING', 'select 3'],
        id='end prefix closes',
    ),
    pytest.param(
        F + "begin atomic select \"end\"; select 2; end; select 3;",
        ['create function f() returns int language sql begin atomic select "end"; select 2; end', 'select 3'],
        id='end in quoted identifier',
    ),
    pytest.param(
        F + "begin atomic select 'end'; select 2; end; select 3;",
        ["create function f() returns int language sql begin atomic select 'end'; select 2; end", 'select 3'],
        id='end in string',
    ),
    pytest.param(
        F + "begin atomic select 1 /* end */; select 2; end; select 3;",
        [
            'create function f() returns int language sql begin atomic select 1 /* end */; select 2; end',
            'select 3',
        ],
        id='end in comment',
    ),
    pytest.param(
        F + "begin atomic select $$end$$; select 2; end; select 3;",
        [
            'create function f() returns int language sql begin atomic select $$end$$; select 2; end',
            'select 3',
        ],
        id='end in dollar quote',
    ),
    pytest.param(
        B + "x$end; select 3;",
        ['select begin atomic; select 2; x$end; select 3'],
        id='end swallowed by lone dollar',
    ),
    pytest.param(
        B + "e/**/nd; select 3;",
        ['select begin atomic; select 2; e/**/nd; select 3'],
        id='end split by comment',
    ),
    pytest.param(
        F + "begin atomic select 1; end select 3; select 4;",
        ['create function f() returns int language sql begin atomic select 1; end select 3', 'select 4'],
        id='end followed by more',
    ),
    pytest.param(
        B + "(1 end); end; select 3;",
        ['select begin atomic; select 2; (1 end); end', 'select 3'],
        id='end in parens does not close',
    ),
    pytest.param(
        B + "(1) end; select 3;",
        ['select begin atomic; select 2; (1) end', 'select 3'],
        id='end after parens closes',
    ),
    pytest.param(
        B + "((1) end); end; select 3;",
        ['select begin atomic; select 2; ((1) end)', 'end', 'select 3'],
        id='parens flag in body',
    ),
    pytest.param(
        B + ") select 3; end; select 4;",
        ['select begin atomic; select 2; ) select 3; end', 'select 4'],
        id='close paren ignored in body',
    ),
    pytest.param(
        B + "end(; select 3;",
        ['select begin atomic; select 2; end(; select 3'],
        id='paren after end',
    ),
    pytest.param(
        "select (begin atomic; select 2; end); select 3;",
        ['select (begin atomic; select 2; end)', 'select 3'],
        id='atomic inside parens',
    ),
    pytest.param(
        "select (begin atomic; select (2; end); select 3; end; select 4;",
        ['select (begin atomic; select (2; end); select 3; end; select 4'],
        id='atomic inside parens keeps parens',
    ),
    pytest.param(
        "select begin atomic; select begin atomic; end; select 2; end; select 3;",
        ['select begin atomic; select begin atomic; end', 'select 2', 'end', 'select 3'],
        id='atomic bodies do not nest',
    ),
    pytest.param(
        B + "(begin atomic end) select 3; end; select 4;",
        ['select begin atomic; select 2; (begin atomic end) select 3; end', 'select 4'],
        id='atomic in parens in body',
    ),
    pytest.param(
        F + "begin atomic select 1; select 2;",
        ['create function f() returns int language sql begin atomic select 1; select 2'],
        id='unterminated atomic',
    ),
    # unicode
    pytest.param(
        "create table \"données\" (clé text); insert into \"données\" values ('héllo; 世界');",
        ['create table "données" (clé text)', 'insert into "données" values (\'héllo; 世界\')'],
        id='unicode identifiers',
    ),
    pytest.param(
        "select '\U0001F600;'; select \"\U0001F600\";",
        ["select '😀;'", 'select "😀"'],
        id='astral characters',
    ),
]


def texts(sql: str) -> list[str]:
    return [statement.text for statement in split_statements(sql)]


def assert_offsets(sql: str, statements: list[Statement]) -> None:
    previous_end = 0
    for statement in statements:
        assert statement.text
        assert sql[statement.offset : statement.offset + len(statement.text)] == statement.text
        assert statement.offset >= previous_end
        previous_end = statement.offset + len(statement.text)


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_splits_like_the_cli(sql: str, expected: list[str]) -> None:
    statements = split_statements(sql)
    assert [s.text for s in statements] == expected
    assert_offsets(sql, statements)


def test_offsets_point_at_the_first_character() -> None:
    sql = "\ufeff-- header\r\nselect 1;\r\n\r\n  select\t2 ;;\n/* c */ select 3"
    assert split_statements(sql) == [
        Statement("-- header\r\nselect 1", 1),
        Statement("select\t2", 27),
        Statement("/* c */ select 3", 39),
    ]


def test_offsets_of_trimmed_trailing_comment() -> None:
    sql = "select 1;\n  -- tail ;;"
    assert split_statements(sql) == [Statement("select 1", 0), Statement("-- tail", 12)]


def test_statement_is_a_frozen_value() -> None:
    statement = Statement("select 1", 0)
    assert statement == Statement("select 1", 0)
    with pytest.raises(AttributeError):
        statement.text = "x"  # type: ignore[misc]


def test_line_and_column() -> None:
    source = "select 1;\nselect\t2;\r\n  select 3;"
    assert line_and_column(source, 0) == (1, 1)
    assert line_and_column(source, 7) == (1, 8)
    assert line_and_column(source, 9) == (1, 10)  # the newline belongs to its line
    assert line_and_column(source, 10) == (2, 1)
    assert line_and_column(source, 17) == (2, 8)
    assert line_and_column(source, 21) == (3, 1)  # after \r\n
    assert line_and_column(source, 23) == (3, 3)
    assert line_and_column(source, len(source)) == (3, 12)
    assert line_and_column("", 0) == (1, 1)
    assert line_and_column("é\U0001f600x", 2) == (1, 3)  # columns count characters


@pytest.mark.parametrize("offset", [-1, 4])
def test_line_and_column_rejects_offsets_outside_the_source(offset: int) -> None:
    with pytest.raises(ValueError):
        line_and_column("abc", offset)


def test_statement_positions_map_to_lines() -> None:
    source = "-- first\ncreate table t (id int);\n\n\tinsert into t values (1);\r\nselect 'x;\ny';"
    positions = [line_and_column(source, s.offset) for s in split_statements(source)]
    assert positions == [(1, 1), (4, 2), (5, 1)]


# --- a naive model of the same rules, one character at a time ---------------------------------

SPACE = frozenset(
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def is_word_before_begin(ch: str) -> bool:
    return ch == "$" or (ord(ch) <= 0xFFFF and is_tag_char(ch))


def model_split(sql: str) -> list[str]:
    n = len(sql)
    out: list[str] = []
    stack: list[str] = []
    state = "top"
    start = i = 0

    def emit(end: int) -> None:
        text = sql[start:end].rstrip(";").strip("".join(SPACE))
        if text:
            out.append(text)

    while i < n:
        c = sql[i]
        if c == "\\":  # hides the next character, except from what closes a state
            if state == "paren" and sql[i + 1 : i + 2] == ")":
                state = stack.pop()
            elif state == "atomic" and sql[i + 1 : i + 4].upper() == "END":
                state = stack.pop()
                i += 2
            i += 2
        elif c in "'\"":
            close = sql.find(c, i + 1)
            i = n if close < 0 else close + 1
        elif c == "-" and sql[i + 1 : i + 2] == "-":
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline
        elif c == "/" and sql[i + 1 : i + 2] == "*":
            depth, prev, i = 1, "*", i + 2
            while i < n and depth:
                if prev == "*" and sql[i] == "/":
                    depth -= 1
                elif prev == "/" and sql[i] == "*":
                    depth += 1
                prev = sql[i]
                i += 1
        elif c == "$":
            j = i + 1
            while j < n and is_tag_char(sql[j]):
                j += 1
            if j < n and sql[j] == "$":
                close = sql.find(sql[i : j + 1], j)
                i = n if close < 0 else close + j + 1 - i
            else:
                i = j
        elif state == "top" and c == ";":
            emit(i + 1)
            start = i = i + 1
        elif state != "paren" and c == "(":
            stack.append(state)
            state = "paren"
            i += 1
        elif state == "paren" and c == ")":
            state = stack.pop()
            i += 1
        elif state != "atomic" and sql[i : i + 6].upper() == "ATOMIC" and i and sql[i - 1] in SPACE:
            last = i - 1
            while last >= 0 and sql[last] in SPACE:
                last -= 1
            first = last - 4
            if (
                first >= 0
                and sql[first : last + 1].upper() == "BEGIN"
                and not (first and is_word_before_begin(sql[first - 1]))
            ):
                stack.append(state)
                state = "atomic"
                i += 6
            else:
                i += 1
        elif state == "atomic" and sql[i : i + 3].upper() == "END":
            state = stack.pop()
            i += 3
        else:
            i += 1
    emit(n)
    return out


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_model_agrees_with_the_cli_cases(sql: str, expected: list[str]) -> None:
    assert model_split(sql) == expected


FRAGMENTS = [
    ";", ";", "(", ")", "'", '"', "$", "$$", "$a$", "$A$", "$1", "$é$", "\\", "--", "\n", "\r\n", "\r",
    "/*", "*/", "/", "*", "-", " begin", "BEGIN", " atomic", "\tATOMIC", "begin\natomic", "end", "END",
    " ", "\t", "\ufeff", "\xa0", "\x85", "é", "\U00010000", "\u0131", "x", "e", "nd", "a", "_", "1",
    "E'\\'", "''", "backend", "$$;$$", "/*;*/", "--;\n", "(;)", "'a;b'", "--begin\n", "\\end", "\\)",
    "select 1", "case when x then 1 end", "create function f() returns int language sql begin atomic ",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_fast_scanner_matches_the_model(sql: str) -> None:
    statements = split_statements(sql)
    assert [s.text for s in statements] == model_split(sql)
    assert_offsets(sql, statements)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="();'\"$-/*\\ \n\tabegintomcdAEx1_é\ufeff", max_size=80))
def test_fast_scanner_matches_the_model_on_dense_text(sql: str) -> None:
    statements = split_statements(sql)
    assert [s.text for s in statements] == model_split(sql)
    assert_offsets(sql, statements)


# --- speed -------------------------------------------------------------------------------------


def realistic_migration(index: int) -> str:
    table = f"items_{index:04d}"
    return (
        f"-- Migration {index}: {table}; with a comment; or two.\n"
        f"create table public.{table} (\n"
        "  id uuid primary key default gen_random_uuid(),\n"
        "  owner_id uuid not null references auth.users(id) on delete cascade,\n"
        "  title text not null check (char_length(title) between 1 and 200),\n"
        "  status text not null default 'draft',\n"
        "  amount numeric(12, 2) not null default 0,\n"
        "  metadata jsonb not null default '{}'::jsonb,\n"
        "  created_at timestamptz not null default now()\n"
        ");\n"
        f"comment on table public.{table} is 'Rows of {table}; one per owner.';\n"
        f"create index {table}_owner_idx on public.{table} (owner_id, created_at desc);\n"
        f"alter table public.{table} enable row level security;\n"
        f'create policy "{table}: owners read" on public.{table}\n'
        "  for select to authenticated using ((select auth.uid()) = owner_id);\n"
        f'create policy "{table}: owners write" on public.{table}\n'
        "  for update to authenticated using ((select auth.uid()) = owner_id)\n"
        "  with check ((select auth.uid()) = owner_id and status <> 'archived');\n"
        f"create or replace function public.{table}_touch() returns trigger\n"
        "language plpgsql set search_path = '' as $function$\n"
        "begin\n"
        "  new.created_at := now(); -- a semicolon; in a comment\n"
        "  if new.title = '' then raise exception 'empty; title %', new.id; end if;\n"
        "  return new;\n"
        "end;\n"
        "$function$;\n"
        f"create trigger {table}_touch before update on public.{table}\n"
        f"  for each row execute function public.{table}_touch();\n"
        "do $$ begin\n"
        f"  if not exists (select 1 from pg_roles where rolname = 'reader_{index}') then\n"
        f"    create role reader_{index};\n"
        "  end if;\n"
        "end $$;\n"
        f"grant select on public.{table} to authenticated;\n"
        f"create function public.{table}_count() returns bigint language sql stable\n"
        f"begin atomic select count(*) from public.{table}; end;\n"
        "/* trailing block comment; /* nested */ still comment */\n"
        f"insert into public.{table} (title, metadata) values ('a;b', '{{\"k\": \"v;\"}}');\n"
    )


def test_a_thousand_files_split_quickly() -> None:
    files = [realistic_migration(i) * 2 for i in range(1000)]  # about 3.6 KB each
    assert 3000 < sum(map(len, files)) / len(files) < 4000
    started = time.perf_counter()
    for sql in files:
        split_statements(sql)
    elapsed = time.perf_counter() - started
    # about 0.07 s on the development machine; the bound leaves room for slow CI machines
    assert elapsed < 0.5, elapsed
    assert len(split_statements(files[0])) == 24


@pytest.mark.parametrize(
    "sql",
    [
        "(" + "a b " * 50_000 + "/* never closed",
        "(" + "x " * 50_000 + "'",
        "select (" * 20_000,
        "(" + "-" * 50_000,
        "begin atomic " + "(e " * 30_000,
        "$" + "a" * 100_000,
        "/*" * 50_000,
        "'" + "x" * 1_000_000,
    ],
    ids=["paren-comment", "paren-quote", "many-parens", "dashes", "atomic-parens", "lone-dollar",
         "comment-openers", "long-string"],
)
def test_no_pathological_slowdown(sql: str) -> None:
    started = time.perf_counter()
    split_statements(sql)
    assert time.perf_counter() - started < 0.5


def test_long_statement() -> None:
    body = "x" * 2_000_000
    assert texts(f"select '{body};'; select 2;") == [f"select '{body};'", "select 2"]
