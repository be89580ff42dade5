"""Code map: a live outline of every file in a workspace, searchable and linked into graphs.

The pure parts live here: ``extract`` turns one file's bytes into a picklable ``FileExtract``
(symbols with signatures and metrics, imports, class bases and instantiations, syntax errors) using
``ast`` for Python and tree-sitter for JavaScript, TypeScript, TSX, C and C++; ``search`` ranks
symbols for a query (exact, prefix, word initials, substring, subsequence); ``graph`` resolves
imports to workspace files and builds the import graph (cycles, dependents) and the class graph
(inheritance and instantiation). The daemon runs ``extract_file`` in its process pool and keeps the
results; nothing here touches the event loop, the store or the filesystem.
"""
