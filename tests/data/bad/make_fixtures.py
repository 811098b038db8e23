import os
D = os.path.dirname(os.path.abspath(__file__))
os.chdir(D)
GOOD_TOML = open('good.toml').read()
BODY = GOOD_TOML[GOOD_TOML.index('wave  ='):]  # without the leading comment

def spec(name, source=None, note='', edit=None, raw=None):
    text = raw if raw is not None else BODY.replace('"good"', '"%s"' % name.replace('_', '-'), 1)
    if raw is None:
        if source is None:
            source = 'good.csv' if name.startswith('spec_') else name + '.csv'
        text = text.replace('source = "good.csv"', 'source = "%s"' % source)
    if edit:
        for a, b in edit:
            assert a in text, (name, a)
            text = text.replace(a, b, 1)
    if note and raw is None:
        text = '# %s\n' % note + text
    with open(name + '.toml', 'w', newline='') as f:
        f.write(text)

def data(name, content, ext='csv'):
    b = content if isinstance(content, bytes) else content.encode()
    with open('%s.%s' % (name, ext), 'wb') as f:
        f.write(b)

H = 'resp_id,function,wt,industry,Q1,Q2\n'
R = ['r1,Sales,1.0,tech,4,6\n', 'r2,Marketing,0.8,retail,2,7\n', 'r3,Sales Operations,1.2,tech,9,3\n',
     'r4,marketing,1,finance,,5\n', 'r5,Sales,1.1,tech,5,1\n']

def rows(repl=None):
    rs = list(R)
    for i, r in (repl or {}).items():
        rs[i - 2] = r  # file line number -> row index
    return H + ''.join(rs)

def case(name, note, content, **kw):
    spec(name, note=note, **kw)
    data(name, content)

# ---- answers
case('answer_off_scale', 'Q1 is on a 1-5 scale; line 4 answers 7', rows({4: 'r3,Sales Operations,1.2,tech,7,3\n'}))
case('answer_zero', 'Q1 answered 0 on line 3 (scales start at 1)', rows({3: 'r2,Marketing,0.8,retail,0,7\n'}))
case('answer_negative', 'Q1 answered -1 on line 5: not a missing code of this spec', rows({5: 'r4,marketing,1,finance,-1,5\n'}))
case('answer_not_numeric', 'a label instead of a code on line 2', rows({2: 'r1,Sales,1.0,tech,agree,6\n'}))
case('answer_fractional', 'a fractional answer on line 6', rows({6: 'r5,Sales,1.1,tech,3.5,1\n'}))
case('answer_seven_point_out_of_range', 'Q2 is on a 1-7 scale; line 3 answers 8', rows({3: 'r2,Marketing,0.8,retail,2,8\n'}))
case('answer_excel_na', "Excel's #N/A in an answer cell on line 4", rows({4: 'r3,Sales Operations,1.2,tech,9,#N/A\n'}))
case('answer_huge', 'a number far beyond any scale on line 2', rows({2: 'r1,Sales,1.0,tech,99999999999999999999,6\n'}))
# ---- respondents
case('duplicate_id', 'r2 on lines 3 and 5', rows({5: 'r2,marketing,1,finance,,5\n'}))
case('blank_id', 'no respondent id on line 4', rows({4: ',Sales Operations,1.2,tech,9,3\n'}))
case('blank_group', 'no group on line 3 (only spaces)', rows({3: 'r2,  ,0.8,retail,2,7\n'}))
# ---- weights
case('weight_negative', 'a negative weight on line 3', rows({3: 'r2,Marketing,-0.8,retail,2,7\n'}))
case('weight_zero', 'a zero weight on line 5', rows({5: 'r4,marketing,0,finance,,5\n'}))
case('weight_nan', 'NaN as a weight on line 2', rows({2: 'r1,Sales,NaN,tech,4,6\n'}))
case('weight_infinite', 'an infinite weight on line 6', rows({6: 'r5,Sales,inf,tech,5,1\n'}))
case('weight_blank', 'no weight on line 4', rows({4: 'r3,Sales Operations,,tech,9,3\n'}))
case('weight_text', 'a word as a weight on line 2', rows({2: 'r1,Sales,one,tech,4,6\n'}))
case('weight_decimal_comma', 'a semicolon export with a decimal comma weight on line 3',
     rows({3: 'r2,Marketing,"0,8",retail,2,7\n'}).replace(',', ';').replace('"0;8"', '0,8'),
     edit=[('source = ', 'delimiter = ";"\nsource = ')])
# ---- shape
case('too_many_fields', 'a decimal comma in an unquoted weight on line 3 splits it in two', rows({3: 'r2,Marketing,0,8,retail,2,7\n'}))
case('too_few_fields', 'line 4 has no value for Q2', rows({4: 'r3,Sales Operations,1.2,tech,9\n'}))
case('unterminated_quote', 'the quote opened on line 3 is never closed: it swallows the rest of the file',
     rows({3: 'r2,"Marketing,0.8,retail,2,7\n'}))
case('unterminated_quote_last_line', 'the last line opens a quote and the file ends',
     H + ''.join(R[:4]) + 'r5,Sales,1.1,"tech,5,1')
case('multiline_field_then_bad', 'a quoted industry spans lines 3-4; line 4 has a bad Q2 and line 7 a bad Q1',
     H + R[0] + 'r2,Marketing,0.8,"retail\nand wholesale",2,77\n' + R[2] + R[3] + 'r5,Sales,1.1,tech,6,1\n')
case('blank_lines_then_bad', 'blank lines in the middle; the bad answer is on line 8',
     H + R[0] + R[1] + '\n\n' + R[2] + R[3] + 'r5,Sales,1.1,tech,5,0\n')
case('crlf_bad_last_line', 'CRLF line ends, no final line end, a bad answer on the last line (6)',
     (H + ''.join(R[:4]) + 'r5,Sales,1.1,tech,5,x').replace('\n', '\r\n'))
case('cr_only_bad', 'Excel for Mac: CR line ends; a bad answer on line 5',
     rows({5: 'r4,marketing,1,finance,6,5\n'}).replace('\n', '\r'))
case('many_errors', '30 rows with an off-scale answer: the first, 20 more, and the count',
     H + ''.join('r%d,Sales,1,tech,%d,1\n' % (i, 6 + i % 3) for i in range(1, 31)))
# ---- encodings
case('invalid_utf8', 'windows-1252 bytes (caf\\xE9) without `encoding` in the spec, line 4',
     rows({4: 'r3,Sales Operations,1.2,caf\udce9,9,3\n'}).encode('utf-8', 'surrogateescape'))
case('invalid_utf8_header', 'a windows-1252 byte in the header',
     ('resp_id,function,wt,industry,Q1,Q2,Bemerkung \udcb4\n' + ''.join(r.rstrip('\n') + ',\n' for r in R)).encode('utf-8', 'surrogateescape'))
le = H.encode('utf-16-le') + ''.join(R).encode('utf-16-le')
case('utf16_without_bom', 'UTF-16LE text without a BOM, and no `encoding` in the spec', le)
# ---- files
case('empty_file', 'a file of zero bytes', b'')
case('bom_only', 'a file with nothing but a UTF-8 BOM', b'\xef\xbb\xbf')
case('header_only', 'a header and no rows', H)
case('header_only_bom_crlf', 'a header-only Excel export: BOM, CRLF', b'\xef\xbb\xbf' + H.replace('\n', '\r\n').encode())
case('blank_rows_only', 'a header and rows of only delimiters (as Excel writes formatted empty rows)', H + ',,,,,\n,,,,,\n')
# ---- header
def hdr(name, note, header, **kw):
    case(name, note, header + '\n' + ''.join(R), **kw)
hdr('missing_id_column', 'the id column is called respondent', 'respondent,function,wt,industry,Q1,Q2')
hdr('missing_group_column', 'the group column is called dept', 'resp_id,dept,wt,industry,Q1,Q2')
hdr('missing_weight_column', 'the weight column is called weight', 'resp_id,function,weight,industry,Q1,Q2')
hdr('missing_segment_column', 'the segment column is called sector', 'resp_id,function,wt,sector,Q1,Q2')
hdr('missing_statement_column', 'Q2 is called Q3', 'resp_id,function,wt,industry,Q1,Q3')
hdr('near_miss_header', 'Resp ID instead of resp_id', 'Resp ID,function,wt,industry,Q1,Q2')
case('duplicate_header', 'Q1 twice in the header (an export that repeats a column)',
     'resp_id,function,wt,industry,Q1,Q2,Q1\n' + ''.join(r.rstrip('\n') + ',' + r.rstrip('\n').split(',')[4] + '\n' for r in R))
# ---- cells
CELLS_EDIT = None
def cells(name, note, content):
    raw = ('# %s\n' % note) + '''wave = "%s"
date = "2017-06-01"
source = "%s.csv"
format = "cells"

[statements.understands]
text = "Our marketing team understands our customers"

[statements.aligned]
text = "Sales and marketing agree on priorities"
''' % (name.replace('_', '-'), name)
    spec(name, raw=raw)
    data(name, content)
CH = 'statement,group,n,agree_pct\n'
CR = ['understands,Sales,120,45.5\n', 'understands,Marketing,80,60\n', 'aligned,Sales,120,30%\n', 'aligned,Marketing,,52.1\n']
def crows(repl):
    rs = list(CR)
    for i, r in repl.items():
        rs[i - 2] = r
    return CH + ''.join(rs)
cells('cells_pct_over_100', 'a percentage of 120 on line 3', crows({3: 'understands,Marketing,80,120\n'}))
cells('cells_n_not_a_number', 'a base of "abc" on line 4', crows({4: 'aligned,Sales,abc,30%\n'}))
cells('cells_n_thousands', 'a base with a thousands separator on line 2', crows({2: 'understands,Sales,"1,200",45.5\n'}))
cells('cells_pct_blank', 'no percentage on line 5', crows({5: 'aligned,Marketing,,\n'}))
cells('cells_unknown_statement', 'a statement the spec does not define on line 4', crows({4: 'alligned,Sales,120,30%\n'}))
cells('cells_duplicate', 'understands × Sales on lines 2 and 4', crows({4: 'understands,sales,120,30%\n'}))
cells('cells_missing_column', 'no agree_pct column', 'statement,group,n,pct\n' + ''.join(CR))
# ---- specs
spec('spec_toml_syntax', note='a string that is never closed', edit=[('date  = "2019-04-30"', 'date  = "2019-04-30')])
spec('spec_unknown_key', note='a typo in [respondent] (wieght)', edit=[('weight   = "wt"', 'wieght   = "wt"')])
spec('spec_unknown_top_key', note='a typo at the top (sorce)', edit=[('source = ', 'sorce = ')])
spec('spec_illegal_wave_id', note='a space in the wave id', edit=[('wave  = "spec-illegal-wave-id"', 'wave  = "2019 spring"')])
spec('spec_impossible_date', note='February 30th', edit=[('2019-04-30', '2019-02-30')])
spec('spec_agree_outside_scale', note='agree code 6 on a 5-point scale', edit=[('agree   = [4, 5]', 'agree   = [4, 6]')])
spec('spec_missing_inside_scale', note='missing code 3 is a valid answer on the 5-point scale', edit=[('missing = [9]', 'missing = [3, 9]')])
spec('spec_agree_missing_overlap', note='4 is both an agree and a missing code of understands',
     edit=[('text   = "Our marketing team understands our customers"', 'text   = "Our marketing team understands our customers"\nmissing = [4, 9]')])
spec('spec_source_missing', note='the source does not exist', source='no_such_file.csv')
spec('spec_source_directory', note='the source is a directory', source='a_directory.csv')
os.makedirs('a_directory.csv', exist_ok=True)
with open('a_directory.csv/README', 'w') as f:
    f.write('A directory named like a data file: the source of spec_source_directory.toml.\n')
spec('spec_no_statements', note='no [statements.<id>] table',
     edit=[(BODY[BODY.index('[statements.understands]'):], '')])
spec('spec_column_twice', note='both statements read column Q1', edit=[('column = "Q2"', 'column = "Q1"')], source='good.csv')
spec('spec_role_column_twice', note='the group column is also a segment', edit=[('segments = ["industry"]', 'segments = ["function"]')], source='good.csv')
spec('spec_no_scale', note='no [scale] and no points on the statement', edit=[('[scale]\npoints  = 5\n', '[scale]\n')], source='good.csv')
spec('spec_bad_encoding', note='an encoding that does not exist', edit=[('source = ', 'encoding = "klingon"\nsource = ')], source='good.csv')
spec('spec_bad_delimiter', note='a two-character delimiter', edit=[('source = ', 'delimiter = ";;"\nsource = ')], source='good.csv')
spec('spec_points_float', note='points = 5.5', edit=[('points  = 5', 'points  = 5.5')], source='good.csv')
spec('spec_twin_a', note='the same wave id as spec_twin_b', source='good.csv', edit=[('"spec-twin-a"', '"twin"')])
spec('spec_twin_b', note='the same wave id as spec_twin_a', source='good.csv', edit=[('"spec-twin-b"', '"twin"')])
with open('spec_not_utf8.toml', 'wb') as f:
    f.write(('# a latin-1 byte in the title\n' + BODY.replace('"good"', '"not-utf8"', 1).replace('Fixture wave', 'Umfrage f\udcfcr 2019')).encode('utf-8', 'surrogateescape'))
# ---- accepted variants of real exports (they must load)
def ok(name, note, content, ext='csv', **kw):
    spec(name, note=note, source=name + '.' + ext, **kw)
    data(name, content, ext)
GOOD = H + ''.join(R)
ok('ok_bom_crlf', 'Excel "CSV UTF-8": BOM and CRLF', b'\xef\xbb\xbf' + GOOD.replace('\n', '\r\n').encode())
ok('ok_cr_only', 'Excel for Mac: CR line ends', GOOD.replace('\n', '\r'))
ok('ok_trailing_delimiter', 'a trailing delimiter on every line', ''.join(l + ',\n' for l in GOOD.splitlines()))
ok('ok_trailing_delimiter_rows', 'a trailing delimiter on the data lines only', H + ''.join(r.rstrip('\n') + ',\n' for r in R))
ok('ok_blank_rows', 'rows of only delimiters and blank lines, as Excel writes formatted empty rows', GOOD + ',,,,,\n\n ,,,,,\n')
ok('ok_decimal_codes', 'answers written as 4.0 by a statistics package, quoted fields, spaces', GOOD.replace(',4,6', ', 4.0 ,"6"'))
ok('ok_multiline_segment', 'a quoted segment value with a line break', GOOD.replace('retail', '"retail\nand wholesale"'))
ok('ok_windows1252_semicolon', 'Excel (German) "CSV": windows-1252 and semicolons',
   GOOD.replace(',', ';').replace('tech', 'Caf\u00e9s').encode('cp1252'),
   edit=[('source = ', 'encoding = "windows-1252"\ndelimiter = ";"\nsource = ')])
ok('ok_latin1', 'latin-1', GOOD.replace('retail', 'Einzelh\u00e4ndler').encode('latin-1'),
   edit=[('source = ', 'encoding = "latin-1"\nsource = ')])
ok('ok_utf16le_bom_tsv', 'Excel "Unicode Text": UTF-16LE with BOM, tab-separated, CRLF',
   b'\xff\xfe' + GOOD.replace(',', '\t').replace('retail', 'r\u00e9tail').replace('\n', '\r\n').encode('utf-16-le'),
   ext='txt', edit=[('source = ', 'encoding = "utf-16"\nformat = "tsv"\nsource = ')])
ok('ok_utf16le_bom_unlabelled', 'UTF-16LE with BOM and no `encoding` in the spec: the BOM decides',
   b'\xff\xfe' + GOOD.replace('retail', 'r\u00e9tail').encode('utf-16-le'))
ok('ok_utf16be_bom', 'UTF-16BE with BOM', b'\xfe\xff' + GOOD.encode('utf-16-be'), edit=[('source = ', 'encoding = "utf-16"\nsource = ')])
spec('spec_windows_path', note='a Windows path with backslashes in a "…" string', edit=[('source = "good.csv"', 'source = "C:\\data\\good.csv"')])
