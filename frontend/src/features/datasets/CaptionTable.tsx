/** The same images as a table of captions (virtualized rows): small thumbnail, file, caption to edit. */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useRef, type CSSProperties } from "react";

import { thumbnailUrl } from "./api";
import { CaptionEditor } from "./CaptionEditor";
import type { ImageViewProps } from "./ImageGrid";
import { baseName } from "./paths";
import type { ImageItem } from "./types";

const ROW = 76;

const Row = memo(function Row({
  dataset,
  item,
  index,
  selected,
  onToggle,
  captionIo,
  onCaptionSaved,
  style,
}: Omit<ImageViewProps, "count" | "itemAt" | "selected"> & {
  item: ImageItem | undefined;
  index: number;
  selected: boolean;
  style: CSSProperties;
}) {
  if (!item) {
    return (
      <div role="row" className="lk-trow" aria-busy="true" style={style}>
        <div role="cell" className="lk-caption-missing">
          Loading…
        </div>
      </div>
    );
  }
  const name = baseName(item.path);
  return (
    <div role="row" className={selected ? "lk-trow lk-cell-selected" : "lk-trow"} data-path={item.path} style={style}>
      <div role="cell">
        <input
          type="checkbox"
          aria-label={`Select ${name}`}
          checked={selected}
          onChange={() => undefined}
          onClick={(e) => onToggle(item.path, index, e.shiftKey)}
        />
      </div>
      <div role="cell">
        <img className="lk-tthumb" src={thumbnailUrl(dataset, item.path)} alt="" decoding="async" width={64} height={64} />
      </div>
      <div role="cell" className="lk-cell-name" title={item.path}>
        {item.path}
      </div>
      <div role="cell" className="lk-tcaption">
        {item.caption_error ? (
          <span className="lk-caption-missing">Caption unreadable: {item.caption_error}</span>
        ) : (
          <CaptionEditor
            imageName={name}
            caption={item.caption}
            version={item.version}
            lines={2}
            io={captionIo(item.path)}
            onSaved={(text, version) => onCaptionSaved(item.path, text, version)}
          />
        )}
      </div>
    </div>
  );
});

export function CaptionTable({ dataset, count, itemAt, selected, onToggle, captionIo, onCaptionSaved }: ImageViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 6,
  });
  return (
    <div ref={scroller} className="lk-scroller" data-testid="caption-table">
      <div role="table" aria-label={`Captions (${count})`} aria-rowcount={count + 1}>
        <div role="rowgroup">
          <div role="row" className="lk-trow lk-thead">
            <div role="columnheader">Select</div>
            <div role="columnheader">Image</div>
            <div role="columnheader">File</div>
            <div role="columnheader">Caption</div>
          </div>
        </div>
        <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((v) => {
            const item = itemAt(v.index);
            return (
                <Row
                  key={v.key}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)`, height: ROW }}
                  dataset={dataset}
                  item={item}
                  index={v.index}
                  selected={!!item && selected.has(item.path)}
                  onToggle={onToggle}
                  captionIo={captionIo}
                  onCaptionSaved={onCaptionSaved}
                />
            );
          })}
        </div>
      </div>
    </div>
  );
}
