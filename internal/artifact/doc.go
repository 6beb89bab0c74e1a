// Package artifact owns function code packages on disk: it validates the zip
// files users upload, stores each under its SHA-256, and unpacks it into a
// read-only tree that a sandbox mounts at /var/task.
//
// # Layout
//
//	<dir>/
//	  zip/<hex>.zip   the package exactly as uploaded, mode 0444. A package is
//	                  present when its zip is (List reads this directory).
//	  tree/<hex>/     the package unpacked: directories 0555, files 0444, or
//	                  0555 when the entry has an executable bit; symbolic
//	                  links kept as links. Set-id and sticky bits are dropped.
//	  tmp/            staging: tree-*, zip-*, rm-*. Emptied by Open.
//
// <hex> is the lowercase hex SHA-256 of the zip's bytes, so a package is
// immutable and putting the same zip twice stores it once.
//
// # Writing and removing
//
// Every step is made durable (fsync of the file, then of the directory that
// names it) before the next, and every step that makes something visible is a
// rename, so zip/ and tree/ hold only complete things:
//
//	Put:     check the zip's directory ──► unpack into tmp/tree-*, checking
//	         contents, fsync ──► tmp/zip-*, fsync ──► rename to zip/<hex>.zip,
//	         fsync zip/ ──► rename tmp/tree-* to tree/<hex>, chmod 0555, fsync
//	Remove:  rename tree/<hex> to tmp/rm-*, fsync tree/ ──► remove
//	         zip/<hex>.zip, fsync zip/ ──► remove tmp/rm-*
//
// So a crash leaves one of these states, which Open and Put repair:
//
//	zip and tree       complete (the tree root may still be 0755: Open fixes it)
//	zip, no tree       Put of the same zip unpacks it again; Open (zip) works
//	tree, no zip       never made by this package; Open removes the tree
//	leftovers in tmp/  Open removes them
//
// # Validation
//
// Put refuses, with an errdefs error whose message tells the user what to fix,
// and before writing anything unless noted:
//
//	zip over MaxZipped                           ErrTooLarge         "Zipped size must be smaller than N bytes"
//	not a zip, corrupt, encrypted, a method      ErrInvalidArgument  Lambda's "Could not unzip uploaded file. ..."
//	  other than store and deflate; CRC or size
//	  mismatch (while unpacking)
//	declared sizes over MaxUnzipped, or more     ErrInvalidArgument  "Unzipped size must be smaller than N bytes"
//	  bytes than that (counted while unpacking)
//	more than MaxFiles entries                   ErrInvalidArgument
//	absolute names, drive letters, "\", NUL,     ErrInvalidArgument  "... entry "x" would be written outside the package root."
//	  ".." above the root
//	a name twice (two directory entries are      ErrInvalidArgument
//	  fine), an entry inside a file or link
//	devices, pipes, sockets                      ErrInvalidArgument
//	links absolute or leading above the root,    ErrInvalidArgument  "... is a symbolic link pointing outside the package root."
//	  followed through other links as the
//	  kernel would; links that loop
//	entrypoint missing, a directory, or without  ErrInvalidArgument  what to do (chmod 755 bootstrap; zips made on
//	  an executable bit                                              Windows record no Unix modes)
//
// Links to paths missing from the package are kept when their text stays
// inside the root: they lead nowhere, and the tree is read-only.
//
// # What it does not own
//
// It does not decide which packages are in use: the function registry does,
// and calls Remove for those no version references (including at startup, to
// sweep what a crash between Put and the registry's commit left). It does not
// mount trees or track which sandboxes use them; the caller must not Remove a
// package a sandbox has mounted. It does not bound request bodies (the API
// does, before the zip reaches Put). It assumes one process per directory.
package artifact
