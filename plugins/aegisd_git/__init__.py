"""aegisd_git: the history of a workspace's repository — log, commits, diffs, blame, file
history and AEGIS's file x commit matrix — cached by commit id and kept live.

Where things are: `hooks` (wiring only), `rpc` (params and handlers; result shapes in
`models`), `history` (what each method asks git), `blames` (blame answers: memory, then the
`store` table of large files' blames), `parse` (git's porcelain outputs), `repo` (which repository a
workspace is in, and what kind), `service` (per-daemon state and the caches), `live` (the git
dir watched; `git.changed`), `settings` (the `git` section). git itself runs through the core's
`aegisd.gitrun` (off the loop, bounded, revisions validated, nothing the repository names run).

Engine: the `git` CLI for every operation, chosen by measurement. On a generated repository of
5,000 commits over 2,000 files (`bench/_gitrepo.py`; git 2.39.5, pygit2 1.21.0 / libgit2, this
machine, medians of 5 runs; `python bench/git.py --engines` measures it again):

| operation | git CLI | pygit2 |
|---|---|---|
| log of one path (all 13 commits touching it, with files for git) | 29.5 ms | 24.6 ms (ids only: no files) |
| log, latest 100 commits with their files | 13.9 ms | 13.1 ms |
| blame of a 2,000-line file with 500 commits (`--porcelain`) | 131.5 ms | 900.1 ms |
| one commit's files and line counts | 2.7 ms | 0.2 ms |

Blame, the costly operation, is 7x faster in git; logs are even (and pygit2 has no
path-limited walk: it must compare trees per commit, in a thread holding the GIL against the
event loop); only a single commit's files are faster in-process, and those are cached by
commit id after the first call. One engine also means one behaviour (rename detection,
mailmap, `.gitattributes`) that matches `git`'s own output, and no native dependency.
"""
