import { filesApi } from "./api";
import { FilesView } from "./FilesView";
import { sharedQueue } from "./uploads";

/** The Files page (route /files/<folder>): the view over the real API and the app-wide upload queue. */
export default function FilesPage() {
  return <FilesView api={filesApi} queue={sharedQueue()} />;
}
