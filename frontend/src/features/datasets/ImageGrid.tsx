/**
 * The dataset's images as a virtualized grid (only the rows on screen exist in the page), each with its
 * caption under it. Smooth at 10,000 images: rows have a fixed height, cells are plain elements, and a
 * cell re-renders only when its own image, caption or selection changes.
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useRef, useState, type MouseEvent } from "react";

import { thumbnailUrl } from "./api";
import { CaptionEditor, type CaptionIo } from "./CaptionEditor";
import { baseName } from "./paths";
import type { ImageItem } from "./types";

export const CELL_WIDTH = 184;
export const ROW_HEIGHT = 262;

export interface ImageViewProps {
  dataset: string;
  /** The images to show; `undefined` for one not loaded yet (shown as a placeholder). */
  count: number;
  itemAt: (index: number) => ImageItem | undefined;
  selected: ReadonlySet<string>;
  onToggle: (path: string, index: number, range: boolean) => void;
  captionIo: (path: string) => CaptionIo;
  onCaptionSaved: (path: string, text: string, version: string) => void;
}

function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

interface CellProps {
  dataset: string;
  item: ImageItem | undefined;
  index: number;
  selected: boolean;
  onToggle: ImageViewProps["onToggle"];
  captionIo: ImageViewProps["captionIo"];
  onCaptionSaved: ImageViewProps["onCaptionSaved"];
}

const Cell = memo(function Cell({ dataset, item, index, selected, onToggle, captionIo, onCaptionSaved }: CellProps) {
  if (!item) {
    return (
      <li className="lk-cell lk-cell-loading" aria-busy="true">
        <div className="lk-thumb" />
        <span className="lk-caption-missing">Loading…</span>
      </li>
    );
  }
  const name = baseName(item.path);
  const toggle = (event: MouseEvent<HTMLInputElement>) => onToggle(item.path, index, event.shiftKey);
  return (
    <li className={selected ? "lk-cell lk-cell-selected" : "lk-cell"} data-path={item.path}>
      <label className="lk-cell-head">
        <input type="checkbox" checked={selected} onChange={() => undefined} onClick={toggle} />
        <span className="lk-cell-name" title={item.path}>
          {name}
        </span>
      </label>
      <img className="lk-thumb" src={thumbnailUrl(dataset, item.path)} alt={name} decoding="async" width={168} height={150} draggable={false} />
      {item.caption_error ? (
        <span className="lk-caption-missing" role="note">
          Caption unreadable: {item.caption_error}
        </span>
      ) : (
        <CaptionEditor
          imageName={name}
          caption={item.caption}
          version={item.version}
          io={captionIo(item.path)}
          onSaved={(text, version) => onCaptionSaved(item.path, text, version)}
        />
      )}
    </li>
  );
});

export function ImageGrid({ dataset, count, itemAt, selected, onToggle, captionIo, onCaptionSaved }: ImageViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const width = useWidth(scroller);
  const columns = Math.max(1, Math.floor((width - 8) / CELL_WIDTH));
  const rows = Math.ceil(count / columns);
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 2,
  });
  return (
    <div ref={scroller} className="lk-scroller" data-testid="image-grid" tabIndex={-1}>
      <ul className="lk-grid" aria-label={`Images (${count})`} style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((row) => {
          const cells = [];
          for (let c = 0; c < columns; c++) {
            const index = row.index * columns + c;
            if (index >= count) break;
            const item = itemAt(index);
            cells.push(
              <Cell
                key={item?.path ?? `loading-${index}`}
                dataset={dataset}
                item={item}
                index={index}
                selected={!!item && selected.has(item.path)}
                onToggle={onToggle}
                captionIo={captionIo}
                onCaptionSaved={onCaptionSaved}
              />,
            );
          }
          return (
            <li key={row.key} className="lk-row" style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}>
              <ul className="lk-row-cells">{cells}</ul>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
