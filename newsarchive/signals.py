"""newsarchive's own Scrapy signals (sent with ``crawler.signals.send_catch_log``).

``file_closed``: a collection file is complete and will never change again.
Arguments: ``path`` (:class:`pathlib.Path` of the closed file) and ``kind``
(``"warc"``, ``"sidecars"``, ``"index"`` or ``"catalog"`` -- a Parquet catalog
part, sent by the indexer once it is written). The store's uploader listens for
it to queue the file; the indexer listens for it to index a WARC.
"""

file_closed = object()
