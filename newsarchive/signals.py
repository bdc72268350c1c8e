"""newsarchive's own Scrapy signals (sent with ``crawler.signals.send_catch_log``).

``file_closed``: a collection file is complete and will never change again.
Arguments: ``path`` (:class:`pathlib.Path` of the closed file) and ``kind``
(``"warc"``, ``"sidecars"``, ``"index"`` or ``"catalog"`` -- a Parquet catalog
part, sent by the indexer once it is written). A sender that digested every byte
it wrote adds ``size``, ``sha256`` (hex) and ``crc32`` (int) of the file; the WARC
writer does. The store's uploader listens for it to queue the file (recording
that digest instead of reading the file again); the indexer listens for it to
index a WARC. Receivers that take ``**kwargs`` (or only the arguments they
name: Scrapy passes a receiver just those) keep working either way.
"""

file_closed = object()
