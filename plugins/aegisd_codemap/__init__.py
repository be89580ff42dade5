"""Code map: a live outline of every file in a workspace, searchable and linked into graphs.

The pure parts: ``extract.extract_file`` turns one file's bytes into a picklable ``FileExtract``
(symbols with signatures and metrics, imports, class bases and instantiations, syntax errors) with
``ast`` for Python and tree-sitter for JavaScript, TypeScript, TSX, C and C++; ``search`` ranks
symbols for a query (exact, prefix, word initials, substring, subsequence); ``resolve`` maps
imports to workspace files, on which ``graph`` builds the import graph (cycles, dependents) and
``classgraph`` the class graph (inheritance, instantiation). None of them touches the event loop,
the store or the filesystem; the daemon runs ``extract_file`` in its process pool.
"""
