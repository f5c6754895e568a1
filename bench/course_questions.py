"""Questions over the Vim user manual (Debian package vim-runtime: /usr/share/vim/vim9*/doc/usr_*.txt).

Written the way a student asks: mostly paraphrases that share few words with the passage that
answers them, a few pasting a line of code and asking why it behaves so. Each question names the
answering passage by a phrase it must contain (whitespace is normalised before matching).

Where the manual answers a question in more than one place, each place has its phrase. Those
places were judged by pooling, as in TREC: the passages every method below sent for a question
were read, and a passage that answers it (the `g` flag explained in another chapter, the
recovery command in the swap-file section) was added. The same judgments score every method,
plain BM25 included. Seven questions have such alternatives; a passage that only points elsewhere
("see 24.9") is not counted.

`held_out` questions were never looked at while choosing passage size, overlap, fusion or how many
passages to send; the tuning half is the rest. Both halves are reported.
"""

from __future__ import annotations

# (question, the phrase an answering passage contains (or several, one per place that answers), held_out)
QUESTIONS: list[tuple[str, str | tuple[str, ...], bool]] = [
    ("I deleted way too much by accident, how do I get my text back?", 'The "u" command undoes the last edit', False),
    ("How do I get out of the program and throw away everything I typed?", "quit-and-throw-things-away command", True),
    (
        "After jumping to another part of the file, how do I go back to where I was before?",
        "This position is called a mark",
        False,
    ),
    ("Is there a key that does my last edit again so I don't have to retype it?", "repeats the last change", True),
    ("How can I copy a line so I can paste it into my browser?", 'prepend "* (double-quote star) before it', False),
    ("What's the quickest way to remove the word my cursor is in the middle of?", '"daw" is "Delete A Word"', True),
    (
        "Can I make F5 wrap the current word in curly braces?",
        "you need to surround certain words with curly braces",
        False,
    ),
    ("I want a copy of the file as it was before I started changing it, how?", "set the 'patchmode' option", True),
    (
        "I keep running out of screen room with split windows, is there something like browser tabs?",
        "The solution for this is called Tab pages",
        False,
    ),
    (
        "My replace only fixed the first match on each line, why not all of them?",
        ("changes only the first occurrence", 'The "g" flag at the end causes all words in a line to be replaced'),
        True,
    ),
    (
        "How do I run a command only on the lines that match some text?",
        "find a match for a pattern and execute a command there",
        False,
    ),
    (
        "How do I type the same thing at the start of a bunch of lines at once?",
        "inserts the text {string} in each line",
        True,
    ),
    (
        "I have names written surname comma first name, how do I flip them around?",
        "These are called backreferences",
        False,
    ),
    (
        "I typed a long command at the bottom and made a typo in the middle, do I have to retype it?",
        ("You don't have to move the cursor to the", "To correct this, you type <Left> five times"),
        True,
    ),
    (
        "Can a file itself tell the editor to use 4-space indents when someone opens it?",
        "a line of text that tells Vim the values of options",
        False,
    ),
    (
        "My file came from a Windows machine and shows weird line endings, what's going on?",
        "used two characters to start a new line",
        True,
    ),
    ("Can I password-protect a file so other people can't read it?", "Vim can encrypt the file for you", False),
    (
        "Is there autocomplete for long variable names while typing?",
        ("Vim guesses the rest", "To search forward, use CTRL-N"),
        True,
    ),
    (
        "Can I type a short code and have it expand into a long word automatically?",
        "takes the place of a long one",
        False,
    ),
    (
        "How do I make >> move lines over by four columns instead of eight?",
        (
            'To make ">>" insert four spaces worth of indent',
            "The shift amount is specified with the 'shiftwidth' option",
        ),
        True,
    ),
    ("Is there a shortcut to bump a number in the text up by one?", "The year will be increased by one", False),
    (
        "How do I make searching not care about capital letters unless I type one?",
        ("If you have a pattern with at least one uppercase character", ":set ignorecase smartcase"),
        True,
    ),
    ("How do I hide a paragraph so it takes up one line on screen?", "You have created a fold", False),
    (
        "In C code, how do I jump to where the function under my cursor is defined?",
        "jumps to the tag of the word that is under the cursor",
        True,
    ),
    (
        "Can I run something automatically every time I save a file?",
        "executed automatically in response to some",
        False,
    ),
    (
        "How can I record a sequence of keystrokes and play it back many times?",
        "That's where command recording comes in",
        True,
    ),
    (
        "How do I see two versions of a file next to each other with the changes highlighted?",
        "vimdiff main.c~ main.c",
        False,
    ),
    (
        "The editor crashed while I was working, can I get my changes back?",
        ("vim -r help.txt", 'use ":recover" or "vim -r main.c"'),
        True,
    ),
    (
        "How do I find out how many words my essay has?",
        (
            "Vim can count the words for you",
            "the total number of words in the file",
            "want to count words in. Then type g CTRL-G",
        ),
        False,
    ),
    ("How do I strip the spaces at the end of every line?", ":%s/\\s\\+$//", True),
    ("How can I save my whole setup of windows and files and get it back tomorrow?", ":mksession vimbook.vim", False),
    ("How do I make a whole word capital letters?", '"section" all uppercase', True),
    ("I swapped two letters by mistake, like teh, how do I fix it fast?", 'and execute the command "xp"', False),
    (
        "Where do I put my personal settings so they load every time?",
        "For Unix and Macintosh this file is always used",
        True,
    ),
    (
        "How do I split the screen so I can look at two files at once?",
        "This command splits the screen into two windows",
        False,
    ),
    (
        "Can I run a terminal command like ls without leaving the editor?",
        "To execute a single shell command from Vim",
        True,
    ),
    ("How do I make long lines stop wrapping onto the next row?", "Switch wrapping off", False),
    ("How do I see tabs and trailing spaces on screen?", "listchars=tab:>-,trail:-", True),
    (
        "I want to type accented characters like é but my keyboard doesn't have them",
        "where two characters represent one",
        False,
    ),
    (
        "Can I make the text automatically break onto a new line when it gets too long?",
        "automatically trimmed to fit in the window",
        True,
    ),
    # Pasted code: why does it behave so?
    ("Why does `echo 017` print 15 and not 17?", "interpreted as an octal number", False),
    (
        'I set ignorecase but `if name == "ADA"` is still false when name is ada. Why?',
        "'ignorecase' option is not used when comparing strings",
        True,
    ),
    (
        "In `if str !~ '\\.$'` why is the pattern in single quotes?",
        "backslashes need to be doubled in a double-quote string",
        False,
    ),
    (
        "Why do the lines after `let mylist = [` start with a backslash?",
        "line continuation is done by preceding a continuation",
        True,
    ),
    (
        "In `:g+//+s/foobar/barfoo/g` what are the plus signs for?",
        "uses the plus character to separate the pattern",
        False,
    ),
    (
        "I typed `:map <F5> i{<Esc>ea}<Esc>` by pressing the real Escape key and it broke. Why?",
        "you must enter <F5> by typing four",
        True,
    ),
    ("Why does `echo 10 + 5 * 2` give 20 and not 30?", "The usual precedence is used", False),
    ("Why does my `.` not repeat the `:s` command I just ran?", "and commands that start with a colon (:)", True),
]
